using Siov.Fast.Iommu;

namespace Siov.Fast.Iommufd;

/// <summary>
/// A device bound to a context (<c>VFIO_DEVICE_BIND_IOMMUFD</c>, <c>struct iommufd_device</c>): the context owns the
/// device's iommu group from the bind on (EBUSY for anyone else, as VFIO's ownership is). It can be attached to a paging
/// HWPT, or to an IOAS (through an auto HWPT, shared with the IOAS's other devices where possible), and replaced
/// between them. A physical device attaches its group; an mdev with an iommu_device is aux-attached through it.
/// </summary>
public sealed class IommufdDevice : IommufdObject
{
    internal IommufdDevice(IommufdContext context, uint id, Device device) : base(context, id) => Device = device;

    /// <inheritdoc/>
    public override IommufdObjectType Type => IommufdObjectType.Device;

    /// <summary>The bound device (a PCI function or an mdev).</summary>
    public Device Device { get; }

    /// <summary>The HWPT the device is attached to, or null.</summary>
    public IommufdHwpt? Hwpt { get; internal set; }

    /// <summary>The HWPTs attached at PASIDs of the device (<c>IOMMU_..._PASID</c> attach), by PASID.</summary>
    public IReadOnlyDictionary<uint, IommufdHwpt> PasidHwpts => PasidAttachments;

    internal Dictionary<uint, IommufdHwpt> PasidAttachments { get; } = [];

    internal override void Release()
    {
        if (Device.Group is { } group)
            Context.Core.ReleaseGroupOwner(group, Context);
    }
}
