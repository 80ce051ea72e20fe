namespace Siov.Fast.Iommufd;

/// <summary>What a page request asks for (<c>enum iommu_hwpt_pgfault_perm</c>).</summary>
[Flags]
public enum IommufdPageFaultPermissions
{
    /// <summary>Nothing (a stop marker).</summary>
    None = 0,

    /// <summary><c>IOMMU_PGFAULT_PERM_READ</c>.</summary>
    Read = 1,

    /// <summary><c>IOMMU_PGFAULT_PERM_WRITE</c>.</summary>
    Write = 2,

    /// <summary><c>IOMMU_PGFAULT_PERM_EXEC</c>.</summary>
    Execute = 4,

    /// <summary><c>IOMMU_PGFAULT_PERM_PRIV</c>.</summary>
    Privileged = 8,
}
