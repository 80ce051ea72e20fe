using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

/// <summary>A PCI root complex node, type 2 (ARM DEN 0049E.e, "PCI root complex node"): one PCI segment, whose
/// requester IDs (RIDs) the ID mappings translate. Fields after the header: Memory access properties 16-23,
/// ATS Attribute 24-27, PCI Segment number 28-31, Memory address size limit 32, PASID Capabilities 33-34
/// (revision 4 and later), Reserved 35, Flags 36-39 (revision 4 and later, DEN 0049E.e).</summary>
/// <param name="Offset">Byte offset of the node in the table.</param>
/// <param name="Length">The node's length in bytes.</param>
/// <param name="Revision">The node's revision.</param>
/// <param name="Identifier">Node identifier.</param>
/// <param name="IdMappings">ID mappings of RIDs to StreamIDs (an SMMU) or DeviceIDs (an ITS group).</param>
/// <param name="MemoryAccess">Memory access properties.</param>
/// <param name="AtsAttribute">ATS attribute: bit 0 ATS supported, bit 1 PRI supported, bit 2 PASID forwarding supported.</param>
/// <param name="PciSegmentNumber">The PCI segment number, as in the MCFG.</param>
/// <param name="AddressSizeLimit">Memory address size limit: how many address bits the root complex can drive.</param>
/// <param name="PasidCapabilities">PASID capabilities (bits 4:0 max PASID width); 0 below revision 4.</param>
/// <param name="Flags">Flags (bit 0 the root complex supports PASID); 0 below revision 4 or when the node's fixed
/// part ends before offset 40 (a DEN 0049E.d node).</param>
public sealed record IortRootComplex(int Offset, int Length, byte Revision, uint Identifier, ImmutableArray<IortIdMapping> IdMappings,
    IortMemoryAccess MemoryAccess, uint AtsAttribute, uint PciSegmentNumber, byte AddressSizeLimit, ushort PasidCapabilities, uint Flags)
    : IortNode(Offset, IortLayout.NodeType.RootComplex, Length, Revision, Identifier, IdMappings)
{
    /// <summary>The root complex supports ATS (ATS attribute bit 0).</summary>
    public bool AtsSupported => (AtsAttribute & 1) != 0;

    /// <summary>The root complex supports PRI (ATS attribute bit 1).</summary>
    public bool PriSupported => (AtsAttribute & 2) != 0;

    /// <summary>The root complex forwards PASIDs on translated transactions (ATS attribute bit 2).</summary>
    public bool PasidForwardingSupported => (AtsAttribute & 4) != 0;

    /// <summary>Maximum PASID width in bits (PASID capabilities bits 4:0).</summary>
    public int MaxPasidWidth => PasidCapabilities & 0x1F;

    /// <summary>The root complex supports PASID (flags bit 0).</summary>
    public bool PasidSupported => (Flags & 1) != 0;
}
