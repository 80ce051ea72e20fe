using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Siov.Fast;

/// <summary>Throw helpers kept out of line so that callers stay small enough to inline.</summary>
internal static class Throw
{
    [DoesNotReturn]
    public static void Iommu(Errno code, string message) => throw new IommuException(code, message);

    /// <summary>Throws for item <paramref name="index"/> of a batch; a negative index means a single-item call (no index).</summary>
    [DoesNotReturn]
    public static void Iommu(Errno code, string message, int index) =>
        throw (index < 0 ? new IommuException(code, message) : new IommuException(code, message, index));

    /// <summary>Formats an address the way the kernel prints it: 0x followed by lower-case hex.</summary>
    public static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}
