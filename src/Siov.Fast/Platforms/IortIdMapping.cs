namespace Siov.Fast.Platforms;

/// <summary>
/// One ID mapping of an IORT node (ARM DEN 0049E.e, "ID mappings"): input IDs
/// [<see cref="InputBase"/>, <see cref="InputBase"/> + <see cref="IdCountMinusOne"/>] of the node become output IDs
/// from <see cref="OutputBase"/> on the node at <see cref="OutputReference"/>.
/// </summary>
/// <remarks>Layout (20 bytes): Input base 0, Number of IDs 4, Output base 8, Output reference 12, Flags 16
/// (bit 0 single mapping).</remarks>
/// <param name="Offset">Byte offset of the mapping in the table.</param>
/// <param name="InputBase">Lowest input ID of the range (a RID for a root complex, a StreamID for an SMMUv3).</param>
/// <param name="IdCountMinusOne">The spec's "Number of IDs" field, which holds the number of IDs in the range
/// <em>minus one</em>: 0xffff covers 65536 IDs. <see cref="IdCount"/> is the actual count.</param>
/// <param name="OutputBase">Output ID of <see cref="InputBase"/> (a StreamID for an SMMUv3, a DeviceID for an ITS group).</param>
/// <param name="OutputReference">Byte offset, from the start of the table, of the node the IDs go to; the parser
/// checks that a node starts there.</param>
/// <param name="Flags">The flags word.</param>
public sealed record IortIdMapping(int Offset, uint InputBase, uint IdCountMinusOne, uint OutputBase, uint OutputReference, uint Flags)
{
    /// <summary>Single mapping (flags bit 0): the node's one ID, whatever the input, is <see cref="OutputBase"/>
    /// (named components and root complexes only; Linux ignores such a mapping on other node types).</summary>
    public bool SingleMapping => (Flags & IortLayout.IdMapping.SingleMapping) != 0;

    /// <summary>How many input IDs the range covers: <see cref="IdCountMinusOne"/> + 1 (1 to 2^32).</summary>
    public ulong IdCount => IdCountMinusOne + 1UL;

    /// <summary>The last input ID of the range, inclusive: <see cref="InputBase"/> + <see cref="IdCountMinusOne"/>
    /// (computed without wrapping, so up to 2^33 - 2 for a range that runs past the 32-bit ID space).</summary>
    public ulong InputLast => (ulong)InputBase + IdCountMinusOne;
}
