namespace Siov.Fast.Iommufd;

/// <summary>Flags of <c>IOMMU_HWPT_ALLOC</c> for a paging HWPT.</summary>
[Flags]
public enum IommufdHwptAllocOptions
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary><c>IOMMU_HWPT_ALLOC_NEST_PARENT</c>: the HWPT may be the stage 2 of nested HWPTs.</summary>
    NestParent = 1,

    /// <summary><c>IOMMU_HWPT_ALLOC_DIRTY_TRACKING</c>: the HWPT can track dirty pages (every device's IOMMU must).</summary>
    DirtyTracking = 2,

    /// <summary><c>IOMMU_HWPT_FAULT_ID_VALID</c>: the HWPT's I/O page faults go to a fault object (its id given with the flag).</summary>
    FaultIdValid = 4,
}
