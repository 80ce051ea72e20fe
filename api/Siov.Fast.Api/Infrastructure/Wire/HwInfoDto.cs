namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary>IOMMU_GET_HW_INFO: <c>intel_vtd</c> with CAP_REG and ECAP_REG, or <c>arm_smmuv3</c> with SMMU_IDR0-5, SMMU_IIDR
/// and SMMU_AIDR (the other vendor's fields absent).</summary>
internal sealed record HwInfoDto(string Type, uint DataType, uint Flags, string? CapReg, string? EcapReg, bool DirtyTracking,
    string[]? Idr = null, string? Iidr = null, string? Aidr = null);
