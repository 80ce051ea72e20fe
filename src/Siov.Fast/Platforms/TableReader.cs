using System.Buffers.Binary;
using System.Globalization;

namespace Siov.Fast.Platforms;

/// <summary>Bounds-checked little-endian reads that name the table and byte offset when they fail.</summary>
internal readonly ref struct TableReader
{
    private readonly ReadOnlySpan<byte> _table;
    private readonly string _name;

    public TableReader(ReadOnlySpan<byte> table, string name)
    {
        _table = table;
        _name = name;
    }

    public int Length => _table.Length;

    /// <summary>Checks that [offset, offset + length) lies inside the table.</summary>
    public void Require(int offset, int length, string what)
    {
        if (offset < 0 || length < 0 || (long)offset + length > _table.Length)
            Throw.Iommu(Errno.EINVAL, string.Create(CultureInfo.InvariantCulture,
                $"{_name} table: {what} at offset {offset} needs {length} bytes, past the table end at offset {_table.Length}"));
    }

    public byte U8(int offset) { Require(offset, 1, "a byte"); return _table[offset]; }

    public ushort U16(int offset) { Require(offset, 2, "a 16-bit field"); return BinaryPrimitives.ReadUInt16LittleEndian(_table[offset..]); }

    public uint U32(int offset) { Require(offset, 4, "a 32-bit field"); return BinaryPrimitives.ReadUInt32LittleEndian(_table[offset..]); }

    public ulong U64(int offset) { Require(offset, 8, "a 64-bit field"); return BinaryPrimitives.ReadUInt64LittleEndian(_table[offset..]); }

    public ReadOnlySpan<byte> Slice(int offset, int length) { Require(offset, length, "a field"); return _table.Slice(offset, length); }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public void Fail(int offset, string what) =>
        Throw.Iommu(Errno.EINVAL, string.Create(CultureInfo.InvariantCulture, $"{_name} table: {what} at offset {offset}"));
}
