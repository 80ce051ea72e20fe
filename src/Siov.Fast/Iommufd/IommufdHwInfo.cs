namespace Siov.Fast.Iommufd;

/// <summary>What <c>IOMMU_GET_HW_INFO</c> answers for a device behind a VT-d unit: <c>IOMMU_HW_INFO_TYPE_INTEL_VTD</c>
/// (1) with <c>struct iommu_hw_info_vtd</c> (flags, cap_reg, ecap_reg), and the capabilities iommufd derives.</summary>
/// <param name="DataType">1: <c>IOMMU_HW_INFO_TYPE_INTEL_VTD</c>.</param>
/// <param name="Flags">The VT-d flags: <see cref="Errata772415Spr17"/>, which the intel driver always reports.</param>
/// <param name="CapabilityRegister">CAP_REG as the unit reads it.</param>
/// <param name="ExtendedCapabilityRegister">ECAP_REG as the unit reads it.</param>
/// <param name="DirtyTracking"><c>IOMMU_HW_CAP_DIRTY_TRACKING</c>: the unit can track dirty pages.</param>
public readonly record struct IommufdHwInfo(uint DataType, uint Flags, ulong CapabilityRegister, ulong ExtendedCapabilityRegister, bool DirtyTracking)
{
    /// <summary><c>IOMMU_HW_INFO_TYPE_INTEL_VTD</c>.</summary>
    public const uint IntelVtd = 1;

    /// <summary><c>IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17</c>: no read-only mappings in a nest-parent domain.</summary>
    public const uint Errata772415Spr17 = 1;
}
