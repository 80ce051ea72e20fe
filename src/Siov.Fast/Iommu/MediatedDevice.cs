namespace Siov.Fast.Iommu;

/// <summary>
/// A mediated device (<c>struct mdev_device</c>): a slice of a parent device (a work queue, a
/// virtual function of a GPU) created from one of the parent's mdev types, in an iommu group
/// of its own.
/// </summary>
/// <remarks>With an <see cref="IommuDevice"/> (set by the parent at create, the seed's
/// <c>mdev_set_iommu_device</c>) the mdev is isolated by the IOMMU: its DMA is tagged by the
/// parent with the PASID of the aux domain attached for it. Without one, isolation is the
/// parent driver's business (vendor-defined): the IOMMU does not protect it.</remarks>
public sealed class MediatedDevice : Device
{
    internal MediatedDevice(Guid uuid, MdevType type, PciDevice? iommuDevice)
    {
        Uuid = uuid;
        Type = type;
        IommuDevice = iommuDevice;
    }

    /// <summary>The mdev's UUID (its sysfs name under <c>/sys/bus/mdev/devices</c>).</summary>
    public Guid Uuid { get; }

    /// <summary>The type it was created from.</summary>
    public MdevType Type { get; }

    /// <summary>The parent device.</summary>
    public PciDevice Parent => Type.Parent;

    /// <summary>The device that represents the mdev in the IOMMU's device scope (<c>mdev_get_iommu_device</c>),
    /// or null when isolation is vendor-defined.</summary>
    public PciDevice? IommuDevice { get; }

    /// <summary>"iommu" when the IOMMU isolates the mdev (through a PASID of <see cref="IommuDevice"/>),
    /// "vendor-defined (no IOMMU protection)" otherwise.</summary>
    public string Isolation => IommuDevice != null ? "iommu" : "vendor-defined (no IOMMU protection)";

    /// <inheritdoc/>
    public override string Name => Uuid.ToString();
}
