namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary>An IOMMU of the platform. VT-d units give CAP_REG and ECAP_REG (<c>Cap</c>, <c>Ecap</c>) and their mode
/// (scalable or legacy); an SMMUv3 gives SMMU_IDR0-5 (<c>Idr</c>, null on VT-d) and the mode <c>stage1</c> (its DMA domains'
/// translation regime), with <c>Mgaw</c> its input address size, <c>DomainIds</c> its ASIDs and <c>PasidWidth</c> its
/// SubstreamID bits.</summary>
internal sealed record UnitDto(string Name, string RegisterBase, string Mode, string Vendor, string Profile, string? Cap, string? Ecap,
    int[] Levels, int Mgaw, int HostAddressWidth, int DomainIds, int PasidWidth, string[] PageSizes, int IotlbCapacity, int FaultLogCapacity,
    string[]? Idr = null);
