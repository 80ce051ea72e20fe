using System.Globalization;

namespace Siov.Fast.Client;

/// <summary>A mapping, as sent (<c>POST /domains/{id}/mappings</c>, <c>POST /containers/{id}/dma</c>) and as answered.</summary>
/// <param name="Iova">The I/O virtual address, "0x..." hex.</param>
/// <param name="Hpa">The host physical address, "0x..." hex.</param>
/// <param name="Size">The length in bytes, "0x..." hex.</param>
/// <param name="Prot">"r", "w" or "rw" (the server's default when sent as null: "rw").</param>
public sealed record Mapping(string Iova, string Hpa, string Size, string? Prot = "rw")
{
    /// <summary>A mapping from numbers.</summary>
    public static Mapping Of(ulong iova, ulong hpa, ulong size, string prot = "rw") => new(Hex(iova), Hex(hpa), Hex(size), prot);

    /// <summary>"0x..." lower-case hex, as the server writes addresses.</summary>
    public static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}
