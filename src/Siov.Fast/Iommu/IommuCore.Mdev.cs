namespace Siov.Fast.Iommu;

public sealed partial class IommuCore
{
    private readonly Dictionary<PciDevice, List<MdevType>> _mdevTypes = [];
    private readonly Dictionary<Guid, MediatedDevice> _mdevs = [];

    /// <summary>The mediated devices, ordered by UUID.</summary>
    public IReadOnlyList<MediatedDevice> MediatedDevices
    {
        get
        {
            lock (_lock)
                return _mdevs.Values.OrderBy(m => m.Uuid).ToArray();
        }
    }

    /// <summary>The registered mdev parents.</summary>
    public IReadOnlyList<PciDevice> MdevParents
    {
        get
        {
            lock (_lock)
                return _mdevTypes.Keys.OrderBy(d => d.Address).ToArray();
        }
    }

    /// <summary>
    /// Registers a device as an mdev parent with the types it offers (<c>mdev_register_device</c>,
    /// which creates <c>mdev_supported_types/</c> in sysfs).
    /// </summary>
    /// <param name="parent">The parent PCI device.</param>
    /// <param name="types">At least one type, ids unique.</param>
    /// <exception cref="IommuException">ENODEV for a removed device; EEXIST when it is a parent already;
    /// EINVAL for no types, an empty or ill-formed id, a duplicate id, or fewer than 1 instance.</exception>
    public void MdevRegisterParent(PciDevice parent, IEnumerable<MdevTypeSpec> types)
    {
        ArgumentNullException.ThrowIfNull(types);
        MdevTypeSpec[] specs = types.ToArray();
        lock (_lock)
        {
            RequirePci(parent, "register mdev parent");
            if (_mdevTypes.ContainsKey(parent))
                Throw.Iommu(Errno.EEXIST, $"{parent} is an mdev parent already");
            if (specs.Length == 0)
                Throw.Iommu(Errno.EINVAL, $"{parent}: an mdev parent needs at least one type");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (MdevTypeSpec spec in specs)
            {
                ArgumentNullException.ThrowIfNull(spec);
                if (string.IsNullOrEmpty(spec.Id) || !spec.Id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
                    Throw.Iommu(Errno.EINVAL, $"mdev type id '{spec.Id}' must be letters, digits, '-', '_' or '.'");
                if (!seen.Add(spec.Id))
                    Throw.Iommu(Errno.EINVAL, $"mdev type id '{spec.Id}' is given twice");
                if (spec.MaxInstances < 1)
                    Throw.Iommu(Errno.EINVAL, $"mdev type '{spec.Id}': max instances {spec.MaxInstances} is below 1");
            }
            _mdevTypes.Add(parent, specs.Select(s => new MdevType(parent, s)).ToList());
        }
    }

    /// <summary>Unregisters an mdev parent (<c>mdev_unregister_device</c>).</summary>
    /// <param name="parent">The parent.</param>
    /// <exception cref="IommuException">ENOENT when it is not a parent; EBUSY while mdevs of it exist.</exception>
    public void MdevUnregisterParent(PciDevice parent)
    {
        ArgumentNullException.ThrowIfNull(parent);
        lock (_lock)
        {
            if (!_mdevTypes.ContainsKey(parent))
                Throw.Iommu(Errno.ENOENT, $"{parent} is not an mdev parent");
            if (_mdevs.Values.Any(m => m.Parent == parent))
                Throw.Iommu(Errno.EBUSY, $"{parent} still has mediated devices; remove them first");
            _mdevTypes.Remove(parent);
        }
    }

    /// <summary>The mdev types of a parent (empty when it is not one).</summary>
    /// <param name="parent">A device.</param>
    /// <returns>The types with their live <c>available_instances</c>.</returns>
    public IReadOnlyList<MdevType> GetMdevTypes(PciDevice parent)
    {
        ArgumentNullException.ThrowIfNull(parent);
        lock (_lock)
            return _mdevTypes.TryGetValue(parent, out List<MdevType>? types) ? types.ToArray() : [];
    }

    /// <summary>
    /// Creates an mdev (writing a UUID to <c>mdev_supported_types/&lt;type&gt;/create</c>): takes one of the
    /// type's available instances, gives the mdev an iommu group of its own (seed 000, steps 1-2), and
    /// for an IOMMU-backed type sets the parent as its iommu_device (<c>mdev_set_iommu_device</c>).
    /// </summary>
    /// <param name="parent">The parent device.</param>
    /// <param name="typeId">A type id of the parent.</param>
    /// <param name="uuid">The new mdev's UUID, not empty.</param>
    /// <returns>The mdev.</returns>
    /// <exception cref="IommuException">ENOENT when the parent has no such type (or is no parent); EINVAL for
    /// the empty UUID; EEXIST for a UUID in use; ENOSPC when no instance is available. Nothing changes on an error.</exception>
    public MediatedDevice MdevCreate(PciDevice parent, string typeId, Guid uuid)
    {
        ArgumentNullException.ThrowIfNull(parent);
        lock (_lock)
        {
            MdevType type = (_mdevTypes.GetValueOrDefault(parent) ?? []).Find(t => t.Id == typeId)
                ?? throw new IommuException(Errno.ENOENT, $"{parent} offers no mdev type '{typeId}'");
            if (uuid == Guid.Empty)
                Throw.Iommu(Errno.EINVAL, "the mdev UUID is empty");
            if (_mdevs.ContainsKey(uuid))
                Throw.Iommu(Errno.EEXIST, $"mdev {uuid} exists already");
            if (type.AvailableInstances == 0)
                Throw.Iommu(Errno.ENOSPC, $"mdev type '{typeId}' of {parent} has no available instance (max {type.Spec.MaxInstances})");
            var mdev = new MediatedDevice(uuid, type, type.Spec.IommuBacked ? parent : null);
            IommuGroup group = NewGroup();
            JoinGroup(mdev, group);
            type.AvailableInstances--;
            _mdevs.Add(uuid, mdev);
            return mdev;
        }
    }

    /// <summary>Looks an mdev up by UUID.</summary>
    /// <param name="uuid">The UUID.</param>
    /// <returns>The mdev or null.</returns>
    public MediatedDevice? FindMdev(Guid uuid)
    {
        lock (_lock)
            return _mdevs.GetValueOrDefault(uuid);
    }

    /// <summary>Removes an mdev (its sysfs <c>remove</c> file): frees its group and returns the instance to its type.</summary>
    /// <param name="uuid">The mdev's UUID.</param>
    /// <exception cref="IommuException">ENOENT for an unknown UUID; EBUSY while its group has a domain or is in a VFIO container.</exception>
    public void MdevRemove(Guid uuid)
    {
        lock (_lock)
        {
            MediatedDevice mdev = _mdevs.GetValueOrDefault(uuid) ?? throw new IommuException(Errno.ENOENT, $"no mdev {uuid}");
            IommuGroup? group = mdev.Group;
            if (group is { Owner: not null })
                Throw.Iommu(Errno.EBUSY, $"mdev {uuid}'s {group} belongs to {group.Owner}; take it out first");
            if (group is { Domain: not null })
                Throw.Iommu(Errno.EBUSY, $"mdev {uuid}'s {group} is attached to {group.Domain}; detach it first");
            if (group != null)
            {
                group.Members.Remove(mdev);
                mdev.Group = null;
                if (group.Members.Count == 0)
                    ReleaseGroup(group);
            }
            mdev.Type.AvailableInstances++;
            _mdevs.Remove(uuid);
        }
    }
}
