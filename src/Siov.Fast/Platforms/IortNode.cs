using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

/// <summary>
/// An IORT node the parser decodes (ARM DEN 0049E.e, "IORT node header"): the 16-byte header, Type 0,
/// Length 1-2, Revision 3, Identifier 4-7, Number of ID mappings 8-11, Reference to ID Array 12-15,
/// then the type's own fields. The derived records are the node types.
/// </summary>
/// <param name="Offset">Byte offset of the node in the table; ID mappings name nodes by it.</param>
/// <param name="Type">Node type: 0 ITS group, 1 named component, 2 root complex, 4 SMMUv3, 5 PMCG, 6 RMR.</param>
/// <param name="Length">The node's length in bytes, its ID array included.</param>
/// <param name="Revision">The node's revision.</param>
/// <param name="Identifier">Node identifier, unique in the table (IORT revision 3, DEN 0049E.b, and later;
/// reserved, zero, in older tables).</param>
/// <param name="IdMappings">The node's ID mappings, in table order.</param>
public abstract record IortNode(int Offset, byte Type, int Length, byte Revision, uint Identifier, ImmutableArray<IortIdMapping> IdMappings);
