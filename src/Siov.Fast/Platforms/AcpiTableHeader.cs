using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Siov.Fast.Platforms;

/// <summary>
/// The standard 36-byte ACPI system description table header (ACPI spec 6.5, section 5.2.6)
/// that DMAR, IVRS and IORT start with.
/// </summary>
/// <remarks>Layout: Signature 0-3, Length 4-7, Revision 8, Checksum 9, OEMID 10-15,
/// OEM Table ID 16-23, OEM Revision 24-27, Creator ID 28-31, Creator Revision 32-35.</remarks>
/// <param name="Signature">Four-character signature: "DMAR", "IVRS" or "IORT".</param>
/// <param name="Length">Length of the whole table in bytes, header included.</param>
/// <param name="Revision">Table revision.</param>
/// <param name="Checksum">The checksum byte (the whole table sums to zero modulo 256).</param>
/// <param name="OemId">OEM id, six characters.</param>
/// <param name="OemTableId">OEM table id, eight characters.</param>
/// <param name="OemRevision">OEM revision.</param>
/// <param name="CreatorId">Creator (ASL compiler) id, four characters.</param>
/// <param name="CreatorRevision">Creator revision.</param>
public sealed record AcpiTableHeader(
    string Signature, uint Length, byte Revision, byte Checksum, string OemId, string OemTableId,
    uint OemRevision, string CreatorId, uint CreatorRevision)
{
    /// <summary>Size of the header in bytes.</summary>
    public const int Size = 36;

    /// <summary>Reads and validates a header: signature, a length that fits the bytes given, and the checksum.</summary>
    internal static AcpiTableHeader Read(ReadOnlySpan<byte> table, string signature, int minimumLength)
    {
        if (table.Length < minimumLength)
            Throw.Iommu(Errno.EINVAL, $"{signature} table truncated at offset {table.Length}: its header needs {minimumLength} bytes");
        string actual = Ascii(table[..4]);
        if (actual != signature)
            Throw.Iommu(Errno.EINVAL, $"{signature} table: signature '{actual}' at offset 0 is not '{signature}'");
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(table[4..]);
        if (length < minimumLength)
            Throw.Iommu(Errno.EINVAL, $"{signature} table: length {length} at offset 4 is shorter than its {minimumLength}-byte header");
        if (length > table.Length)
            Throw.Iommu(Errno.EINVAL, $"{signature} table truncated at offset {table.Length}: the length at offset 4 says {length} bytes");
        byte sum = 0;
        foreach (byte b in table[..(int)length])
            sum += b;
        if (sum != 0)
            Throw.Iommu(Errno.EINVAL, string.Create(CultureInfo.InvariantCulture,
                $"{signature} table: checksum byte 0x{table[9]:x2} at offset 9 is wrong (the {length} bytes sum to 0x{sum:x2}, not 0)"));
        return new AcpiTableHeader(actual, length, table[8], table[9], Ascii(table.Slice(10, 6)), Ascii(table.Slice(16, 8)),
            BinaryPrimitives.ReadUInt32LittleEndian(table[24..]), Ascii(table.Slice(28, 4)),
            BinaryPrimitives.ReadUInt32LittleEndian(table[32..]));
    }

    /// <summary>ASCII text of a fixed-size field, up to its first NUL; bytes outside printable ASCII become '?'.</summary>
    internal static string Ascii(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        if (end >= 0)
            field = field[..end];
        var text = new StringBuilder(field.Length);
        foreach (byte b in field)
            text.Append(b is >= 0x20 and < 0x7F ? (char)b : '?');
        return text.ToString();
    }
}
