using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

/// <summary>A reserved memory range node, RMR, type 6 (ARM DEN 0049E.e, "Reserved Memory Range node"): memory that
/// the endpoints of its ID mappings' StreamIDs access before and while the OS takes over, to be kept mapped.
/// Fields after the header: RMR Flags 16-19, Number of Memory Range Descriptors 20-23, Reference to Memory Range
/// Descriptors 24-27 (offset from the node's start). Each ID mapping gives StreamIDs [output base, output base +
/// <see cref="IortIdMapping.IdCountMinusOne"/>] on the SMMU it references.</summary>
/// <param name="Offset">Byte offset of the node in the table.</param>
/// <param name="Length">The node's length in bytes.</param>
/// <param name="Revision">The node's revision.</param>
/// <param name="Identifier">Node identifier.</param>
/// <param name="IdMappings">ID mappings naming the StreamIDs (on the SMMUs they reference) the ranges apply to.</param>
/// <param name="Flags">RMR flags: bit 0 remapping permitted, bit 1 access privileged, bits 9:2 access attributes.</param>
/// <param name="MemoryRanges">The memory range descriptors.</param>
public sealed record IortRmr(int Offset, int Length, byte Revision, uint Identifier, ImmutableArray<IortIdMapping> IdMappings,
    uint Flags, ImmutableArray<IortMemoryRange> MemoryRanges)
    : IortNode(Offset, IortLayout.NodeType.Rmr, Length, Revision, Identifier, IdMappings)
{
    /// <summary>Remapping permitted (flags bit 0): the OS may move the range to another IOVA once it owns the device.</summary>
    public bool RemappingPermitted => (Flags & 1) != 0;

    /// <summary>Access privileged (flags bit 1): the range is accessed with privileged transactions.</summary>
    public bool AccessPrivileged => (Flags & 2) != 0;

    /// <summary>Access attributes (flags bits 9:2): 0-3 device nGnRnE/nGnRE/nGRE/GRE, 4 normal non-cacheable,
    /// 5 normal inner/outer write-back shareable.</summary>
    public int AccessAttributes => (int)(Flags >> 2) & 0xFF;
}
