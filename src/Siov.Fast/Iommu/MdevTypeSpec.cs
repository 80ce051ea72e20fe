namespace Siov.Fast.Iommu;

/// <summary>What a parent driver registers for one mdev type (the files of
/// <c>/sys/class/mdev_bus/&lt;parent&gt;/mdev_supported_types/&lt;id&gt;/</c>).</summary>
/// <param name="Id">The type's directory name, <c>&lt;driver&gt;-&lt;type&gt;</c>, e.g. <c>idxd-wq</c>: letters, digits, '-', '_', '.'.</param>
/// <param name="Name">Human-readable name (the <c>name</c> file).</param>
/// <param name="Description">The <c>description</c> file.</param>
/// <param name="DeviceApi">The <c>device_api</c> file, e.g. <c>vfio-pci</c>.</param>
/// <param name="MaxInstances">How many mdevs of this type the parent can hold, at least 1.</param>
/// <param name="IommuBacked">True when the parent calls <c>mdev_set_iommu_device</c> for each new
/// mdev (its DMA is PASID-tagged, so the IOMMU isolates it); false for vendor-defined isolation.</param>
public sealed record MdevTypeSpec(string Id, string Name, string Description, string DeviceApi, int MaxInstances, bool IommuBacked);
