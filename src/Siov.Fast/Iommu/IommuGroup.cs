namespace Siov.Fast.Iommu;

/// <summary>
/// An iommu group (<c>struct iommu_group</c>): the smallest set of devices the IOMMU can
/// isolate from each other. All devices of a group share one domain; a device is in at most
/// one group. Shown in sysfs as <c>/sys/kernel/iommu_groups/&lt;Id&gt;/devices/</c>.
/// </summary>
public sealed class IommuGroup
{
    private readonly Lock _coreLock;
    internal readonly List<Device> Members = [];
    // PASID -> domain attached group-wide through iommu_attach_device_pasid (group->pasid_array).
    internal readonly Dictionary<uint, IommuDomain> PasidArray = [];

    internal IommuGroup(int id, Lock coreLock)
    {
        Id = id;
        _coreLock = coreLock;
    }

    /// <summary>The group number (<c>iommu_group_id</c>), unique while the group exists.</summary>
    public int Id { get; }

    /// <summary>The devices in the group, a snapshot in the order they were added.</summary>
    public IReadOnlyList<Device> Devices
    {
        get
        {
            lock (_coreLock)
                return Members.ToArray();
        }
    }

    /// <summary>The domain the group is attached to (<c>group-&gt;domain</c>): its default domain, a
    /// domain attached with <see cref="IommuCore.AttachGroup"/>, or, for a group of mdevs, the aux
    /// domain attached with <see cref="IommuCore.AuxAttachGroup"/>; null when none.</summary>
    public IommuDomain? Domain { get; internal set; }

    /// <summary>The default domain (<c>group-&gt;default_domain</c>): what the group returns to on detach.
    /// Created when the first PCI device joins; null for a group of mdevs.</summary>
    public IommuDomain? DefaultDomain { get; internal set; }

    /// <summary>For a group attached with <see cref="IommuCore.AuxAttachGroup"/>: the physical device
    /// whose PASID carries the aux domain; null otherwise.</summary>
    public PciDevice? AuxParent { get; internal set; }

    /// <summary>The DMA owner of the group (<c>group-&gt;owner</c>): the VFIO container it is set in, if any. While a
    /// group has an owner, only that owner may attach or detach it; everyone else gets EBUSY.</summary>
    public object? Owner { get; internal set; }

    /// <summary>The sysfs paths of the group's devices, <c>/sys/kernel/iommu_groups/N/devices/NAME</c>.</summary>
    /// <returns>One path per device.</returns>
    public IReadOnlyList<string> SysfsPaths() => Devices.Select(d => $"/sys/kernel/iommu_groups/{Id}/devices/{d.Name}").ToArray();

    /// <inheritdoc/>
    public override string ToString() => $"iommu group {Id}";
}
