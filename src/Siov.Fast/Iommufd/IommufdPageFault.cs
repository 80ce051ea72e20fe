namespace Siov.Fast.Iommufd;

/// <summary>
/// One record read from a fault object (<c>struct iommu_hwpt_pgfault</c>): one page request of a group; the records of a
/// group share <see cref="Cookie"/>, which the response names.
/// </summary>
/// <param name="Flags"><c>IOMMU_PGFAULT_FLAGS_PASID_VALID</c> (bit 0), <c>IOMMU_PGFAULT_FLAGS_LAST_PAGE</c> (bit 1).</param>
/// <param name="DevId">The iommufd device id of the device that faulted (0 when none of the context's devices is it).</param>
/// <param name="Pasid">The PASID, when <see cref="IommufdPageFaultAttributes.PasidValid"/>.</param>
/// <param name="GroupId">The PRG index.</param>
/// <param name="Permissions">Read, write, execute, privileged (<c>IOMMU_PGFAULT_PERM_*</c>).</param>
/// <param name="Address">The page's address (4 KiB aligned).</param>
/// <param name="Length">Bytes: 4,096.</param>
/// <param name="Cookie">The group's cookie.</param>
public readonly record struct IommufdPageFault(IommufdPageFaultAttributes Flags, uint DevId, uint Pasid, uint GroupId,
    IommufdPageFaultPermissions Permissions, ulong Address, uint Length, uint Cookie);
