namespace Siov.Fast.Iommu;

/// <summary>
/// The vendor rules an IOMMU driver applies to auxiliary domains. The hardware model is the
/// same; only which attachments are allowed differs.
/// </summary>
public enum IommuVendor
{
    /// <summary>Intel VT-d (<c>intel-iommu</c>): one domain may be attached normally to one device
    /// and as an aux domain to another at the same time (seed 003).</summary>
    IntelVtd = 0,

    /// <summary>Arm SMMUv3 (<c>arm-smmu-v3</c>, seed 004): a domain is either aux or normal and that
    /// state is sticky, even after detach; an aux domain has a single parent domain, so two
    /// devices share an aux domain only when they are attached to the same primary domain.</summary>
    ArmSmmuV3 = 1,
}
