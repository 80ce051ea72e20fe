using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>Addresses travel as "0x..." hex strings in JSON; this parses them, naming the field on error.</summary>
internal static class Hex
{
    public static string Format(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>Parses "0x..." hex (or plain decimal) into <paramref name="value"/>; otherwise an EINVAL naming <paramref name="field"/>.</summary>
    public static bool TryParse(string? text, string field, out ulong value, [NotNullWhen(false)] out string? error)
    {
        value = 0;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = $"field '{field}' is missing";
            return false;
        }
        text = text.Trim();
        bool ok = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? text.Length > 2 && ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok)
            error = $"field '{field}' is '{text}', not a 64-bit \"0x...\" hex number";
        return ok;
    }

    public static ulong Parse(string? text, string field) =>
        TryParse(text, field, out ulong value, out string? error) ? value : throw new IommuException(Errno.EINVAL, error);

    public static DmaProtection ParseProtection(string? text, string field = "prot") => text?.ToLowerInvariant() switch
    {
        "r" or "read" => DmaProtection.Read,
        "w" or "write" => DmaProtection.Write,
        "rw" or "readwrite" or "read_write" => DmaProtection.ReadWrite,
        _ => throw new IommuException(Errno.EINVAL, $"field '{field}' is '{text}', expected \"r\", \"w\" or \"rw\""),
    };

    public static DmaAccess ParseAccess(string? text, string field = "access") => text?.ToLowerInvariant() switch
    {
        null or "" or "r" or "read" => DmaAccess.Read,
        "w" or "write" => DmaAccess.Write,
        "rw" or "readwrite" or "atomic" => DmaAccess.ReadWrite,
        _ => throw new IommuException(Errno.EINVAL, $"field '{field}' is '{text}', expected \"read\", \"write\" or \"rw\""),
    };

    public static string Protection(DmaProtection p) => p switch
    {
        DmaProtection.Read => "r",
        DmaProtection.Write => "w",
        DmaProtection.ReadWrite => "rw",
        _ => "",
    };

    public static PciAddress ParseDevice(string? text, string field = "device") =>
        PciAddress.TryParse(text, out PciAddress address)
            ? address
            : throw new IommuException(Errno.EINVAL, $"field '{field}' is '{text}', not a PCI address (SSSS:BB:DD.F or BB:DD.F)");
}
