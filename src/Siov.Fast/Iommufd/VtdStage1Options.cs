namespace Siov.Fast.Iommufd;

/// <summary>The flags of <c>struct iommu_hwpt_vtd_s1</c>.</summary>
[Flags]
public enum VtdStage1Options : ulong
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary><c>IOMMU_VTD_S1_SRE</c>: supervisor requests.</summary>
    SupervisorRequests = 1,

    /// <summary><c>IOMMU_VTD_S1_EAFE</c>: the extended accessed flag (not modelled: refused).</summary>
    ExtendedAccessedFlag = 2,

    /// <summary><c>IOMMU_VTD_S1_WPE</c>: supervisor writes obey R/W.</summary>
    WriteProtect = 4,
}
