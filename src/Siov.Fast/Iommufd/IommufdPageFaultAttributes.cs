namespace Siov.Fast.Iommufd;

/// <summary>Flags of a fault record (<c>enum iommu_hwpt_pgfault_flags</c>).</summary>
[Flags]
public enum IommufdPageFaultAttributes
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary><c>IOMMU_PGFAULT_FLAGS_PASID_VALID</c>: the request carried a PASID.</summary>
    PasidValid = 1,

    /// <summary><c>IOMMU_PGFAULT_FLAGS_LAST_PAGE</c>: the last request of its group.</summary>
    LastPage = 2,
}
