using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

/// <summary>An ITS group node, type 0 (ARM DEN 0049E.e, "ITS group node"): the GIC ITSs that MSIs of the IDs
/// mapped to it go to. Fields after the header: Number of ITSs 16-19, GIC ITS identifiers from 20, 4 bytes each.</summary>
/// <param name="Offset">Byte offset of the node in the table.</param>
/// <param name="Length">The node's length in bytes.</param>
/// <param name="Revision">The node's revision.</param>
/// <param name="Identifier">Node identifier.</param>
/// <param name="IdMappings">ID mappings (none in a valid table).</param>
/// <param name="ItsIdentifiers">GIC ITS identifiers, as the MADT GIC ITS structures give them.</param>
public sealed record IortItsGroup(int Offset, int Length, byte Revision, uint Identifier, ImmutableArray<IortIdMapping> IdMappings,
    ImmutableArray<uint> ItsIdentifiers)
    : IortNode(Offset, IortLayout.NodeType.ItsGroup, Length, Revision, Identifier, IdMappings);
