using System.Diagnostics;

namespace Siov.Fast.Platforms;

/// <summary>
/// One little-endian field of a table structure, defined once: its byte offset from the structure's start,
/// its width in bytes and the spec's name for it (used in error messages). Reads go through a
/// <see cref="TableReader"/>, so a field past the table end is an EINVAL naming the offset.
/// </summary>
/// <param name="Offset">Byte offset from the start of the structure.</param>
/// <param name="Width">Width in bytes: 1, 2, 4 or 8.</param>
/// <param name="Name">The spec's name for the field.</param>
internal readonly record struct TableField(int Offset, int Width, string Name)
{
    /// <summary>Offset of the first byte after the field, from the start of the structure.</summary>
    public int End => Offset + Width;

    public byte U8(TableReader r, int structure)
    {
        Debug.Assert(Width == 1, Name);
        return r.U8(structure + Offset);
    }

    public ushort U16(TableReader r, int structure)
    {
        Debug.Assert(Width == 2, Name);
        return r.U16(structure + Offset);
    }

    public uint U32(TableReader r, int structure)
    {
        Debug.Assert(Width == 4, Name);
        return r.U32(structure + Offset);
    }

    public ulong U64(TableReader r, int structure)
    {
        Debug.Assert(Width == 8, Name);
        return r.U64(structure + Offset);
    }
}
