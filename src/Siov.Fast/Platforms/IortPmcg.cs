using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

/// <summary>A PMCG node, type 5 (ARM DEN 0049E.e, "PMCG node"): an SMMUv3 performance monitor counter group.
/// Fields after the header: Page 0 Base Address 16-23, Overflow interrupt GSIV 24-27, Node reference 28-31,
/// Page 1 Base Address 32-39 (revision 1 and later).</summary>
/// <param name="Offset">Byte offset of the node in the table.</param>
/// <param name="Length">The node's length in bytes.</param>
/// <param name="Revision">The node's revision.</param>
/// <param name="Identifier">Node identifier.</param>
/// <param name="IdMappings">ID mappings: at most one, the counter group's overflow MSI DeviceID.</param>
/// <param name="Page0BaseAddress">Physical base address of the counter group's page 0.</param>
/// <param name="OverflowGsiv">GSIV of the overflow interrupt when wired, 0 when it is an MSI.</param>
/// <param name="NodeReference">Byte offset of the node (an SMMUv3 or a named component) the counters belong to.</param>
/// <param name="Page1BaseAddress">Physical base address of page 1; null for a revision 0 node.</param>
public sealed record IortPmcg(int Offset, int Length, byte Revision, uint Identifier, ImmutableArray<IortIdMapping> IdMappings,
    ulong Page0BaseAddress, uint OverflowGsiv, uint NodeReference, ulong? Page1BaseAddress)
    : IortNode(Offset, IortLayout.NodeType.Pmcg, Length, Revision, Identifier, IdMappings);
