using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

/// <summary>An SMMUv3 node, type 4 (ARM DEN 0049E.e, "SMMUv3 node"). Fields after the header: Base Address 16-23,
/// Flags 24-27, Reserved 28-31, VATOS address 32-39, Model 40-43, Event 44-47, PRI 48-51, GERR 52-55,
/// Sync 56-59 (GSIVs), Proximity domain 60-63, DeviceID mapping index 64-67.</summary>
/// <param name="Offset">Byte offset of the node in the table.</param>
/// <param name="Length">The node's length in bytes.</param>
/// <param name="Revision">The node's revision.</param>
/// <param name="Identifier">Node identifier.</param>
/// <param name="IdMappings">ID mappings of StreamIDs to DeviceIDs of an ITS group; one of them may be the SMMU's own
/// MSI DeviceID (<see cref="DeviceIdMappingIndex"/>).</param>
/// <param name="BaseAddress">Physical base address of the SMMU's registers.</param>
/// <param name="Flags">Flags: bit 0 COHACC override, bits 2:1 HTTU override, bit 3 proximity domain valid,
/// bit 4 DeviceID mapping index valid.</param>
/// <param name="VatosAddress">Physical base address of the VATOS registers; 0 when there are none.</param>
/// <param name="Model">Model: 0 generic SMMUv3, 1 HiSilicon Hi161x, 2 Cavium CN99xx.</param>
/// <param name="EventGsiv">GSIV of the event queue interrupt when wired, 0 when it is an MSI.</param>
/// <param name="PriGsiv">GSIV of the PRI queue interrupt when wired, 0 when it is an MSI.</param>
/// <param name="GerrGsiv">GSIV of the global error interrupt when wired, 0 when it is an MSI.</param>
/// <param name="SyncGsiv">GSIV of the CMD_SYNC interrupt when wired, 0 when it is an MSI.</param>
/// <param name="ProximityDomain">NUMA proximity domain, meaningful when <see cref="ProximityDomainValid"/>.</param>
/// <param name="DeviceIdMappingIndex">Index of the ID mapping that gives the SMMU's own MSI DeviceID.</param>
public sealed record IortSmmuV3(int Offset, int Length, byte Revision, uint Identifier, ImmutableArray<IortIdMapping> IdMappings,
    ulong BaseAddress, uint Flags, ulong VatosAddress, uint Model, uint EventGsiv, uint PriGsiv, uint GerrGsiv, uint SyncGsiv,
    uint ProximityDomain, uint DeviceIdMappingIndex)
    : IortNode(Offset, IortLayout.NodeType.SmmuV3, Length, Revision, Identifier, IdMappings)
{
    /// <summary>COHACC override (flags bit 0): the SMMU's table walks are cache coherent whatever IDR0.COHACC says.</summary>
    public bool CoherentAccessOverride => (Flags & 1) != 0;

    /// <summary>HTTU override (flags bits 2:1): 0 none, 1 hardware access flag updates, 2 access and dirty flag updates.</summary>
    public int HttuOverride => (int)(Flags >> 1) & 3;

    /// <summary>Proximity domain valid (flags bit 3).</summary>
    public bool ProximityDomainValid => (Flags & 8) != 0;

    /// <summary>DeviceID mapping index valid (flags bit 4; DEN 0049E.e, node revision 5).</summary>
    public bool DeviceIdMappingIndexValid => (Flags & 16) != 0;

    /// <summary>
    /// The index of the ID mapping that carries the SMMU's own MSI DeviceID, skipped when StreamIDs are mapped
    /// through this node, as Linux's iort_get_id_mapping_index decides it: none below revision 1; below revision 5
    /// the index holds unless all four interrupts are wired (GSIV); from revision 5 it holds when
    /// <see cref="DeviceIdMappingIndexValid"/>; an index past the last mapping is ignored. -1 when none.
    /// </summary>
    internal int MsiMappingIndex
    {
        get
        {
            if (Revision < 1)
                return -1;
            bool valid = Revision < 5 ? EventGsiv == 0 || PriGsiv == 0 || GerrGsiv == 0 || SyncGsiv == 0 : DeviceIdMappingIndexValid;
            return valid && DeviceIdMappingIndex < (uint)IdMappings.Length ? (int)DeviceIdMappingIndex : -1;
        }
    }
}
