namespace Siov.Fast.Iommu;

/// <summary>
/// A device as the kernel's IOMMU core sees it (<c>struct device</c>): a PCI function behind a
/// remapping unit, or a mediated device. Every device is in at most one iommu group.
/// </summary>
public abstract class Device
{
    private protected Device()
    {
    }

    /// <summary>The device's name: the sysfs PCI address (<c>0000:00:02.0</c>) or the mdev UUID.</summary>
    public abstract string Name { get; }

    /// <summary>The iommu group the device is in, or null once removed.</summary>
    public IommuGroup? Group { get; internal set; }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
