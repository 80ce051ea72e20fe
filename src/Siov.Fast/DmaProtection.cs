namespace Siov.Fast;

/// <summary>
/// Permissions of a mapping, with the kernel's values (<c>IOMMU_READ</c> = 1,
/// <c>IOMMU_WRITE</c> = 2, include/linux/iommu.h). They equal the R and W bits of a VT-d
/// second-level paging entry (bits 0 and 1, VT-d spec section 9.8).
/// </summary>
[Flags]
public enum DmaProtection
{
    /// <summary>No access: not a valid protection for a mapping (a map with it is EINVAL).</summary>
    None = 0,

    /// <summary>Device reads of host memory are allowed (IOMMU_READ).</summary>
    Read = 1,

    /// <summary>Device writes to host memory are allowed (IOMMU_WRITE).</summary>
    Write = 2,

    /// <summary>Both reads and writes.</summary>
    ReadWrite = Read | Write,
}
