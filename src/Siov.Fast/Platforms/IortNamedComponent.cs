using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

/// <summary>A named component node, type 1 (ARM DEN 0049E.e, "Named component node"): a platform device named by
/// its ACPI namespace path. Fields after the header: Node Flags 16-19, Memory access properties 20-27,
/// Device Memory Address Size Limit 28, Device object name from 29 (NUL-terminated ASCII).</summary>
/// <param name="Offset">Byte offset of the node in the table.</param>
/// <param name="Length">The node's length in bytes.</param>
/// <param name="Revision">The node's revision.</param>
/// <param name="Identifier">Node identifier.</param>
/// <param name="IdMappings">ID mappings: usually single mappings giving the device's StreamIDs or DeviceIDs.</param>
/// <param name="NodeFlags">Node flags: bit 0 stall supported, bits 5:1 substream width (SSID bits).</param>
/// <param name="MemoryAccess">Memory access properties.</param>
/// <param name="AddressSizeLimit">Device memory address size limit: how many address bits the device can drive.</param>
/// <param name="ObjectName">Full ACPI namespace path of the device, e.g. "\_SB.ETH0".</param>
public sealed record IortNamedComponent(int Offset, int Length, byte Revision, uint Identifier, ImmutableArray<IortIdMapping> IdMappings,
    uint NodeFlags, IortMemoryAccess MemoryAccess, byte AddressSizeLimit, string ObjectName)
    : IortNode(Offset, IortLayout.NodeType.NamedComponent, Length, Revision, Identifier, IdMappings)
{
    /// <summary>Stall supported (node flags bit 0).</summary>
    public bool StallSupported => (NodeFlags & 1) != 0;

    /// <summary>Substream width in bits (node flags bits 5:1): how many SubstreamID bits the device drives.</summary>
    public int SubstreamWidth => (int)(NodeFlags >> 1) & 0x1F;
}
