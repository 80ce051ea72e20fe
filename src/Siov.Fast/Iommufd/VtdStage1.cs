namespace Siov.Fast.Iommufd;

/// <summary>VT-d's stage-1 data for a nested HWPT (<c>struct iommu_hwpt_vtd_s1</c>, <c>IOMMU_HWPT_DATA_VTD_S1</c> = 1).</summary>
/// <param name="Flags">SRE, EAFE, WPE.</param>
/// <param name="PageTableAddress"><c>pgtbl_addr</c>: the stage-1 root, a GPA.</param>
/// <param name="AddressWidth"><c>addr_width</c>: 48 (4 levels) or 57 (5 levels).</param>
public readonly record struct VtdStage1(VtdStage1Options Flags, ulong PageTableAddress, int AddressWidth);
