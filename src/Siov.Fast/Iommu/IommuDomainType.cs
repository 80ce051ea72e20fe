namespace Siov.Fast.Iommu;

/// <summary>Domain types (<c>IOMMU_DOMAIN_*</c>, include/linux/iommu.h).</summary>
public enum IommuDomainType
{
    /// <summary><c>IOMMU_DOMAIN_BLOCKED</c>: all DMA is blocked (no entry is programmed, so every request faults).</summary>
    Blocked = 0,

    /// <summary><c>IOMMU_DOMAIN_IDENTITY</c>: DMA addresses are system physical addresses (pass-through
    /// entries; needs ECAP_REG.PT).</summary>
    Identity = 1,

    /// <summary><c>IOMMU_DOMAIN_UNMANAGED</c>: mappings managed by the user (VFIO, KVM); the only type
    /// that can be an aux domain.</summary>
    Unmanaged = 2,

    /// <summary><c>IOMMU_DOMAIN_DMA</c>: the kernel DMA API's domain, a driver's IOVA space.</summary>
    Dma = 3,

    /// <summary><c>IOMMU_DOMAIN_NESTED</c>: a guest's stage-1 table over a nest parent's stage 2; made by
    /// <see cref="IommuCore.DomainAllocNested"/> only, with no mappings of its own.</summary>
    Nested = 4,

    /// <summary><c>IOMMU_DOMAIN_SVA</c>: a process address space (its IA-32e table, the root a CR3 holds) shared with
    /// devices at the process's PASID; made by <see cref="IommuCore.SvaBindDevice"/> only.</summary>
    Sva = 5,
}
