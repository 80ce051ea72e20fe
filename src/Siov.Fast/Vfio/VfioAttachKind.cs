namespace Siov.Fast.Vfio;

/// <summary>How a group was attached to a container's domain.</summary>
public enum VfioAttachKind
{
    /// <summary>A group of PCI functions, attached with <c>iommu_attach_group</c>.</summary>
    Physical = 0,

    /// <summary>An mdev group whose iommu_device has AUX enabled: the domain is its aux domain (<c>iommu_aux_attach_group</c>).</summary>
    Aux = 1,

    /// <summary>An mdev group whose iommu_device lacks AUX: the domain is attached to the whole iommu_device.</summary>
    IommuDevice = 2,

    /// <summary>An mdev group without iommu_device: no IOMMU domain (VFIO's "external domain"); the container's
    /// mappings are what the vendor driver may pin.</summary>
    External = 3,
}
