namespace Siov.Fast.Iommufd;

/// <summary>What <c>IOMMU_GET_HW_INFO</c> answers for a device: behind a VT-d unit <c>IOMMU_HW_INFO_TYPE_INTEL_VTD</c> (1)
/// with <c>struct iommu_hw_info_vtd</c> (flags, cap_reg, ecap_reg); behind an SMMUv3 <c>IOMMU_HW_INFO_TYPE_ARM_SMMUV3</c>
/// (2) with <c>struct iommu_hw_info_arm_smmuv3</c> (flags 0, SMMU_IDR0-5, SMMU_IIDR, SMMU_AIDR in <see cref="SmmuIdr"/>,
/// <see cref="SmmuIidr"/>, <see cref="SmmuAidr"/>; the VT-d registers read 0); and the capabilities iommufd derives.</summary>
/// <param name="DataType"><see cref="IntelVtd"/> or <see cref="ArmSmmuV3"/>.</param>
/// <param name="Flags">The VT-d flags: <see cref="Errata772415Spr17"/>, which the intel driver always reports.</param>
/// <param name="CapabilityRegister">CAP_REG as the unit reads it.</param>
/// <param name="ExtendedCapabilityRegister">ECAP_REG as the unit reads it.</param>
/// <param name="DirtyTracking"><c>IOMMU_HW_CAP_DIRTY_TRACKING</c>: the unit can track dirty pages.</param>
public readonly record struct IommufdHwInfo(uint DataType, uint Flags, ulong CapabilityRegister, ulong ExtendedCapabilityRegister, bool DirtyTracking)
{
    /// <summary><c>IOMMU_HW_INFO_TYPE_INTEL_VTD</c>.</summary>
    public const uint IntelVtd = 1;

    /// <summary><c>IOMMU_HW_INFO_TYPE_ARM_SMMUV3</c>.</summary>
    public const uint ArmSmmuV3 = 2;

    /// <summary>SMMU_IDR0 to SMMU_IDR5 as the SMMU reads them (<c>iommu_hw_info_arm_smmuv3.idr</c>); empty on VT-d.</summary>
    public IReadOnlyList<uint> SmmuIdr { get; init; } = [];

    /// <summary>SMMU_IIDR (<c>iommu_hw_info_arm_smmuv3.iidr</c>); 0 on VT-d.</summary>
    public uint SmmuIidr { get; init; }

    /// <summary>SMMU_AIDR (<c>iommu_hw_info_arm_smmuv3.aidr</c>); 0 on VT-d.</summary>
    public uint SmmuAidr { get; init; }

    /// <summary><c>IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17</c>: no read-only mappings in a nest-parent domain.</summary>
    public const uint Errata772415Spr17 = 1;
}
