namespace Siov.Fast.Iommufd;

/// <summary>The kinds of iommufd objects modelled (<c>enum iommufd_object_type</c>).</summary>
public enum IommufdObjectType
{
    /// <summary>An I/O address space (<c>IOMMUFD_OBJ_IOAS</c>).</summary>
    Ioas,

    /// <summary>A bound device (<c>IOMMUFD_OBJ_DEVICE</c>).</summary>
    Device,

    /// <summary>A paging hardware page table (<c>IOMMUFD_OBJ_HWPT_PAGING</c>): an IOMMU domain over an IOAS.</summary>
    HwptPaging,

    /// <summary>A nested hardware page table (<c>IOMMUFD_OBJ_HWPT_NESTED</c>): a guest's stage 1 over a nest parent.</summary>
    HwptNested,

    /// <summary>A fault queue (<c>IOMMUFD_OBJ_FAULT</c>): I/O page faults of HWPTs allocated with it, for user space.</summary>
    Fault,
}
