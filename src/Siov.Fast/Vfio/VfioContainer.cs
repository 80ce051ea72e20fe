using Siov.Fast.Iommu;

namespace Siov.Fast.Vfio;

/// <summary>
/// A VFIO type1 container (<c>drivers/vfio/vfio_iommu_type1.c</c>): the IOMMU context of a VM or a user
/// driver. Groups are attached to one of the container's domains, which all carry the same DMA mappings.
/// </summary>
/// <remarks>
/// <para>Attaching a group follows seed 003's flow: a group of PCI functions is attached with
/// <c>iommu_attach_group</c>; for an mdev with an iommu_device, the domain is aux-attached to that device
/// when it has AUX enabled (and recorded on the mdev's group, so <see cref="IommuCore.GetDomainForDevice"/>
/// finds it), else attached to it normally; an mdev without iommu_device gets no IOMMU domain.</para>
/// <para>A group first tries each existing domain of the container; when the vendor rules refuse (SMMUv3's
/// sticky aux/normal modes) or the domain's table does not fit the unit, the container allocates a new
/// domain, replays its mappings into it and uses that, as <c>vfio_iommu_type1_attach_group</c> does.</para>
/// <para>Ownership, as VFIO has it: a group set in the container and every domain the container allocated
/// belong to it (<see cref="IommuGroup.Owner"/>, <see cref="IommuDomain.Owner"/>). Only the container changes
/// them; the same calls made directly on the <see cref="IommuCore"/> or the domain fail with EBUSY.</para>
/// <para>Calls serialize on the container. When the last group leaves, the mappings and domains go too
/// (<c>vfio_iommu_type1_release</c>). <see cref="Dispose"/> closes the container: it cannot fail, and every
/// call after it fails with ENOENT.</para>
/// </remarks>
public sealed class VfioContainer : IDisposable
{
    private readonly Lock _lock = new();
    private readonly IommuCore _core;
    private readonly List<IommuDomain> _domains = [];
    private readonly Dictionary<IommuGroup, (IommuDomain? Domain, VfioAttachKind Kind, PciDevice? IommuDevice)> _groups = [];
    private readonly SortedList<ulong, VfioDmaMapping> _dma = [];
    private bool _closed;

    /// <summary>The default of <see cref="DmaEntryLimit"/>: vfio_iommu_type1's <c>dma_entry_limit</c> module parameter.</summary>
    public const int DefaultDmaEntryLimit = ushort.MaxValue;

    /// <summary>Creates an empty container (opening <c>/dev/vfio/vfio</c> and setting VFIO_TYPE1v2_IOMMU).</summary>
    /// <param name="core">The IOMMU core whose groups it takes.</param>
    /// <param name="name">What errors and owners call it, e.g. "container 3"; "VFIO container" when null.</param>
    public VfioContainer(IommuCore core, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(core);
        _core = core;
        Name = string.IsNullOrEmpty(name) ? "VFIO container" : name;
    }

    /// <summary>The container's name, used in error messages and as the owner name of its groups and domains.</summary>
    public string Name { get; }

    /// <summary>Most DMA mappings the container may hold (vfio_iommu_type1's <c>dma_entry_limit</c>, default 65535);
    /// a map beyond it is ENOSPC. At least 1.</summary>
    public int DmaEntryLimit { get; init; } = DefaultDmaEntryLimit;

    /// <summary>True once <see cref="Dispose"/> has closed the container.</summary>
    public bool IsClosed
    {
        get
        {
            lock (_lock)
                return _closed;
        }
    }

    /// <summary>A consistent view of the container: its groups, domains and mappings read under one lock.</summary>
    /// <returns>The groups (by id), the domains, the mappings in IOVA order and the pinned ranges.</returns>
    public VfioContainerSnapshot GetSnapshot()
    {
        lock (_lock)
        {
            VfioDmaMapping[] mappings = [.. _dma.Values];
            bool external = _groups.Values.Any(g => g.Kind == VfioAttachKind.External);
            return new VfioContainerSnapshot([.. _groups.Keys.OrderBy(g => g.Id)], [.. _domains], mappings, external ? mappings : []);
        }
    }

    /// <summary>The groups in the container.</summary>
    public IReadOnlyList<IommuGroup> Groups
    {
        get
        {
            lock (_lock)
                return _groups.Keys.OrderBy(g => g.Id).ToArray();
        }
    }

    /// <summary>The container's IOMMU domains (one unless vendor rules forced more).</summary>
    public IReadOnlyList<IommuDomain> Domains
    {
        get
        {
            lock (_lock)
                return _domains.ToArray();
        }
    }

    /// <summary>The DMA mappings in IOVA order.</summary>
    public IReadOnlyList<VfioDmaMapping> DmaMappings
    {
        get
        {
            lock (_lock)
                return _dma.Values.ToArray();
        }
    }

    /// <summary>The ranges a vendor driver may pin for the container's external (non-IOMMU) mdevs: every
    /// mapping while such a group is in the container, none otherwise.</summary>
    public IReadOnlyList<VfioDmaMapping> PinnedRanges
    {
        get
        {
            lock (_lock)
                return _groups.Values.Any(g => g.Kind == VfioAttachKind.External) ? _dma.Values.ToArray() : [];
        }
    }

    /// <summary>How a group is attached, and to which domain (null for an external group).</summary>
    /// <param name="group">A group of the container.</param>
    /// <returns>The kind and domain.</returns>
    /// <exception cref="IommuException">ENOENT when the group is not in the container.</exception>
    public (VfioAttachKind Kind, IommuDomain? Domain) GetAttachment(IommuGroup group)
    {
        lock (_lock)
        {
            if (!_groups.TryGetValue(group, out var a))
                Throw(Errno.ENOENT, $"{group} is not in this container");
            return (a.Kind, a.Domain);
        }
    }

    /// <summary>Adds a group to the container (<c>VFIO_GROUP_SET_CONTAINER</c>, then <c>vfio_iommu_type1_attach_group</c>).</summary>
    /// <param name="group">A group of PCI functions, or of mdevs.</param>
    /// <exception cref="IommuException">EBUSY when the group is in this or another container, or attached to a
    /// non-default domain; EINVAL for an empty group, one that mixes mdevs of different iommu_devices, or whose
    /// devices no domain can serve; ENOENT for a freed group or a closed container; what the core's attach
    /// raises (ENOSPC, ENOMEM). Nothing changes on an error.</exception>
    public void AttachGroup(IommuGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        lock (_lock)
        {
            RequireOpen();
            if (_groups.ContainsKey(group))
                Throw(Errno.EBUSY, $"{group} is in this container already");
            _core.ClaimGroup(group, this);
            try
            {
                (VfioAttachKind kind, PciDevice? iommuDevice) = Classify(group);
                if (kind == VfioAttachKind.External)
                {
                    _groups.Add(group, (null, kind, null));
                    return;
                }
                foreach (IommuDomain existing in _domains)
                {
                    try
                    {
                        kind = AttachTo(existing, group, kind, iommuDevice);
                        _groups.Add(group, (existing, kind, iommuDevice));
                        return;
                    }
                    catch (IommuException e) when (e.Code is Errno.EPERM or Errno.EINVAL or Errno.EBUSY or Errno.ENODEV or Errno.ERANGE)
                    {
                        // This domain cannot take the group (vendor rule, table format): try the next, then a new one.
                    }
                }
                IommuDomain domain = _core.DomainAllocAs(IommuDomainType.Unmanaged, null, owner: this);
                try
                {
                    foreach (VfioDmaMapping m in _dma.Values)
                        domain.MapAs(m.Iova, m.Hpa, m.Size, m.Protection, caller: this); // vfio_iommu_replay
                    kind = AttachTo(domain, group, kind, iommuDevice);
                }
                catch
                {
                    _core.DomainFreeAs(domain, caller: this);
                    throw;
                }
                _domains.Add(domain);
                _groups.Add(group, (domain, kind, iommuDevice));
            }
            catch
            {
                _core.ReleaseGroupOwner(group, this);
                throw;
            }
        }
    }

    /// <summary>Takes a group out of the container (<c>vfio_iommu_type1_detach_group</c>): undoes its attach
    /// (the units' caches are invalidated), frees a domain no group uses any more, and drops every mapping
    /// when the last group leaves.</summary>
    /// <param name="group">A group of the container.</param>
    /// <exception cref="IommuException">ENOENT when the group is not in the container or the container is closed.</exception>
    public void DetachGroup(IommuGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        lock (_lock)
        {
            RequireOpen();
            if (!_groups.TryGetValue(group, out var a))
                Throw(Errno.ENOENT, $"{group} is not in this container");
            DetachLocked(group, a);
        }
    }

    private void DetachLocked(IommuGroup group, (IommuDomain? Domain, VfioAttachKind Kind, PciDevice? IommuDevice) a)
    {
        switch (a.Kind)
        {
            case VfioAttachKind.Physical:
                _core.DetachGroupAs(a.Domain!, group, caller: this);
                break;
            case VfioAttachKind.Aux:
                _core.AuxDetachGroupAs(a.Domain!, group, a.IommuDevice!, caller: this);
                break;
            case VfioAttachKind.IommuDevice:
                _core.DetachDeviceAs(a.Domain!, a.IommuDevice!, caller: this);
                break;
        }
        _groups.Remove(group);
        _core.ReleaseGroupOwner(group, this);
        if (a.Domain != null && !_groups.Values.Any(g => g.Domain == a.Domain))
        {
            _domains.Remove(a.Domain);
            _core.DomainFreeAs(a.Domain, caller: this);
        }
        if (_groups.Count == 0)
            _dma.Clear();
    }

    /// <summary>Maps a range into every domain of the container (<c>VFIO_IOMMU_MAP_DMA</c>).</summary>
    /// <param name="iova">First IOVA, 4 KiB aligned.</param>
    /// <param name="hpa">First HPA, 4 KiB aligned.</param>
    /// <param name="size">Bytes, a non-zero multiple of 4 KiB.</param>
    /// <param name="protection">Read, Write or both.</param>
    /// <exception cref="IommuException">EINVAL for a container without groups, zero or unaligned input, no
    /// permission, or a range that wraps; EEXIST when it overlaps a mapping; ENOSPC beyond <see cref="DmaEntryLimit"/>
    /// mappings; ENOENT for a closed container; what a domain's map raises (ERANGE, ENOMEM, ENOSPC). Nothing
    /// changes on an error, the frame allocator included.</exception>
    public void MapDma(ulong iova, ulong hpa, ulong size, DmaProtection protection)
    {
        lock (_lock)
        {
            RequireOpen();
            if (_groups.Count == 0)
                Throw(Errno.EINVAL, "map DMA: the container has no group (no IOMMU set)");
            CheckRange("map DMA", iova, size);
            if ((hpa & 0xFFF) != 0)
                Throw(Errno.EINVAL, $"map DMA: HPA 0x{hpa:x} is not 4 KiB aligned");
            if ((protection & DmaProtection.ReadWrite) == 0)
                Throw(Errno.EINVAL, "map DMA: protection grants neither read nor write");
            if (Overlapping(iova, size) is { } clash)
                Throw(Errno.EEXIST, $"map DMA: [0x{iova:x}, +0x{size:x}) overlaps the mapping at 0x{clash.Iova:x}");
            if (_dma.Count >= DmaEntryLimit)
                Throw(Errno.ENOSPC, $"map DMA: the container holds {_dma.Count} mappings, the limit (dma_entry_limit) is {DmaEntryLimit}");
            var done = new List<IommuDomain>();
            try
            {
                foreach (IommuDomain domain in _domains)
                {
                    domain.MapAs(iova, hpa, size, protection, caller: this);
                    done.Add(domain);
                }
            }
            catch
            {
                // The domains mapped so far take the range back, tables included, so memory is as it was.
                foreach (IommuDomain domain in done)
                    domain.UnmapAs(iova, size, caller: this, prune: true);
                throw;
            }
            _dma.Add(iova, new VfioDmaMapping(iova, hpa, size, protection));
        }
    }

    /// <summary>
    /// Unmaps every mapping inside <c>[iova, iova + size)</c> from every domain (<c>VFIO_IOMMU_UNMAP_DMA</c>,
    /// type1v2 rules): a mapping that straddles either end is an error, a hole is not.
    /// </summary>
    /// <param name="iova">First IOVA, 4 KiB aligned.</param>
    /// <param name="size">Bytes, a non-zero multiple of 4 KiB.</param>
    /// <returns>Bytes unmapped (0 when nothing was mapped there).</returns>
    /// <exception cref="IommuException">EINVAL for zero or unaligned input, a wrapping range, or a mapping that
    /// only partly lies in the range; ENOENT for a closed container. Nothing changes on an error.</exception>
    public ulong UnmapDma(ulong iova, ulong size)
    {
        lock (_lock)
        {
            RequireOpen();
            CheckRange("unmap DMA", iova, size);
            // Only the mappings that intersect the range are visited: the first is found by binary search.
            var covered = new List<VfioDmaMapping>();
            for (int i = FirstEndingAfter(iova); i < _dma.Count; i++)
            {
                VfioDmaMapping m = _dma.Values[i];
                if (m.Iova >= iova + size)
                    break;
                if (m.Iova < iova || m.Iova + m.Size > iova + size)
                    Throw(Errno.EINVAL, $"unmap DMA: the mapping [0x{m.Iova:x}, +0x{m.Size:x}) straddles the range [0x{iova:x}, +0x{size:x})");
                covered.Add(m);
            }
            ulong bytes = 0;
            foreach (VfioDmaMapping m in covered)
            {
                foreach (IommuDomain domain in _domains)
                    domain.UnmapAs(m.Iova, m.Size, caller: this);
                _dma.Remove(m.Iova);
                bytes += m.Size;
            }
            return bytes;
        }
    }

    /// <summary>
    /// Closes the container (releasing <c>/dev/vfio/vfio</c>): every group is detached, normal and aux, every
    /// domain the container allocated is freed, every mapping dropped, and the groups' ownership released.
    /// It cannot fail and may be called again; every other call afterwards fails with ENOENT.
    /// </summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_closed)
                return;
            _closed = true;
            foreach ((IommuGroup group, var attachment) in _groups.ToArray())
            {
                try
                {
                    DetachLocked(group, attachment);
                }
                catch (IommuException)
                {
                    // Closing cannot fail: a group the core no longer knows (freed under us) is simply let go.
                    _groups.Remove(group);
                    _core.ReleaseGroupOwner(group, this);
                }
            }
            foreach (IommuDomain domain in _domains.ToArray())
            {
                try
                {
                    _core.DomainFreeAs(domain, caller: this);
                }
                catch (IommuException)
                {
                    // Still attached somewhere only if the core refused a detach above; nothing more can be done.
                }
            }
            _domains.Clear();
            _dma.Clear();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    private void RequireOpen()
    {
        if (_closed)
            Throw(Errno.ENOENT, $"{Name} is closed");
    }

    /// <summary>Index of the first mapping that ends after <paramref name="iova"/> (binary search over the sorted keys).</summary>
    private int FirstEndingAfter(ulong iova)
    {
        IList<ulong> keys = _dma.Keys;
        int lo = 0, hi = keys.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (keys[mid] <= iova)
                lo = mid + 1;
            else
                hi = mid;
        }
        // lo: first mapping starting above iova; the one before it may still cover iova.
        if (lo > 0 && _dma.Values[lo - 1].Iova + _dma.Values[lo - 1].Size > iova)
            return lo - 1;
        return lo;
    }

    private VfioDmaMapping? Overlapping(ulong iova, ulong size)
    {
        int i = FirstEndingAfter(iova);
        return i < _dma.Count && _dma.Values[i].Iova < iova + size ? _dma.Values[i] : null;
    }

    private static (VfioAttachKind, PciDevice?) Classify(IommuGroup group)
    {
        IReadOnlyList<Device> devices = group.Devices;
        if (devices.Count == 0)
            Throw(Errno.EINVAL, $"{group} has no devices");
        if (devices.All(d => d is PciDevice))
            return (VfioAttachKind.Physical, null);
        if (!devices.All(d => d is MediatedDevice))
            Throw(Errno.EINVAL, $"{group} mixes PCI functions and mediated devices");
        PciDevice? iommuDevice = ((MediatedDevice)devices[0]).IommuDevice;
        if (devices.Any(d => ((MediatedDevice)d).IommuDevice != iommuDevice))
            Throw(Errno.EINVAL, $"{group} holds mdevs of different iommu_devices");
        return iommuDevice == null ? (VfioAttachKind.External, null) : (VfioAttachKind.Aux, iommuDevice);
    }

    private VfioAttachKind AttachTo(IommuDomain domain, IommuGroup group, VfioAttachKind kind, PciDevice? iommuDevice)
    {
        if (kind == VfioAttachKind.Physical)
        {
            _core.AttachGroupAs(domain, group, caller: this);
            return kind;
        }
        if (_core.DevFeatureEnabled(iommuDevice!, IommuDevFeature.Aux))
        {
            _core.AuxAttachGroupAs(domain, group, iommuDevice!, caller: this);
            return VfioAttachKind.Aux;
        }
        _core.AttachDeviceAs(domain, iommuDevice!, caller: this);
        return VfioAttachKind.IommuDevice;
    }

    private static void CheckRange(string operation, ulong iova, ulong size)
    {
        if (size == 0)
            Throw(Errno.EINVAL, $"{operation}: size is zero");
        if (((iova | size) & 0xFFF) != 0)
            Throw(Errno.EINVAL, $"{operation}: IOVA 0x{iova:x} or size 0x{size:x} is not 4 KiB aligned");
        if (iova + size - 1 < iova)
            Throw(Errno.EINVAL, $"{operation}: [0x{iova:x}, +0x{size:x}) wraps past 2^64");
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Throw(Errno code, string message) => throw new IommuException(code, message);
}
