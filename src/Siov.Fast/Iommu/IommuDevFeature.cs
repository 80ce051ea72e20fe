namespace Siov.Fast.Iommu;

/// <summary>A per-device IOMMU feature (<c>enum iommu_dev_features</c>, include/linux/iommu.h).</summary>
public enum IommuDevFeature
{
    /// <summary><c>IOMMU_DEV_FEAT_AUX</c>: the device can be attached to auxiliary domains, one per
    /// PASID, besides its primary domain (Lu Baolu's aux-domain series; seeds 000 and 003).</summary>
    Aux = 0,
}
