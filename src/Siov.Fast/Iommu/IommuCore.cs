using Siov.Fast.Drivers;
using Siov.Fast.Hardware;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Iommu;

/// <summary>
/// The kernel's IOMMU core (drivers/iommu/iommu.c) over the hardware model: remapping units,
/// devices, iommu groups, domains, auxiliary domains per PASID, PASID attachments and mediated
/// devices. Every operation programs the units' context and PASID entries at once, so what
/// <see cref="IIommuHardware.Translate(in DmaRequest)"/> returns follows each call.
/// </summary>
/// <remarks>
/// <para>Errors are <see cref="IommuException"/>s with the kernel's errno names; a call that throws
/// has changed nothing (multi-device operations roll back what they did).</para>
/// <para>Concurrency: object-model operations (attach, detach, group and mdev changes) serialize on
/// one lock per core; domain map/unmap serialize per domain; translation takes no lock at all.</para>
/// </remarks>
public sealed partial class IommuCore : IDisposable
{
    private readonly Lock _lock = new();
    private readonly List<UnitState> _units = [];
    private readonly Dictionary<PciAddress, PciDevice> _pciDevices = [];
    private readonly Dictionary<int, IommuGroup> _groups = [];
    private readonly Dictionary<int, IommuDomain> _domains = [];
    private readonly IdAllocator _groupIds = new(0, int.MaxValue / 64);
    private readonly IdAllocator _pasids;
    private int _nextDomainId = 1;
    private int _allocatedDomains;   // live domains from DomainAlloc, for IommuCoreOptions.MaxDomains
    private long _mapCalls, _unmapCalls; // control path only: each domain counts under its own map lock, so Interlocked

    private sealed class UnitState(IIommuHardware unit, IIommuDriver driver, ushort segment)
    {
        public readonly IIommuHardware Unit = unit;
        public readonly IIommuDriver Driver = driver;
        public readonly ushort Segment = segment;
        // DID 0 is reserved, as the Linux driver reserves it (and CAP_REG.CM requires).
        public readonly IdAllocator DomainIds = new(1, (uint)driver.NumberOfDomains);
    }

    /// <summary>Creates an empty core over <paramref name="memory"/>, where every page table lives.</summary>
    /// <param name="memory">Simulated host physical memory shared with the units.</param>
    /// <param name="options">Settings; <see cref="IommuCoreOptions.Default"/> when null.</param>
    /// <exception cref="IommuException">EINVAL for a PASID width outside 1-20, a limit below 1, or a default domain type
    /// other than DMA or IDENTITY.</exception>
    public IommuCore(PhysicalMemory memory, IommuCoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(memory);
        options ??= IommuCoreOptions.Default;
        if (options.PasidBits is < 1 or > 20)
            Throw.Iommu(Errno.EINVAL, $"PasidBits {options.PasidBits} is outside 1-20");
        if (options.MaxDomains < 1 || options.MaxTablePagesPerDomain < 1)
            Throw.Iommu(Errno.EINVAL, $"MaxDomains {options.MaxDomains} and MaxTablePagesPerDomain {options.MaxTablePagesPerDomain} must be at least 1");
        if (options.DefaultDomainType is not (IommuDomainType.Dma or IommuDomainType.Identity))
            Throw.Iommu(Errno.EINVAL, $"default domain type {options.DefaultDomainType} is not DMA or IDENTITY");
        Memory = memory;
        Options = options;
        _pasids = new IdAllocator(1, 1u << options.PasidBits);
    }

    /// <summary>The simulated memory holding every table.</summary>
    public PhysicalMemory Memory { get; }

    /// <summary>The settings.</summary>
    public IommuCoreOptions Options { get; }

    /// <summary>The registered IOMMUs (VT-d remapping units, SMMUv3s), in registration order.</summary>
    public IReadOnlyList<IIommuHardware> Units
    {
        get
        {
            lock (_lock)
                return _units.Select(u => u.Unit).ToArray();
        }
    }

    /// <summary>The PCI devices, ordered by address.</summary>
    public IReadOnlyList<PciDevice> PciDevices
    {
        get
        {
            lock (_lock)
                return _pciDevices.Values.OrderBy(d => d.Address).ToArray();
        }
    }

    /// <summary>The iommu groups, ordered by id.</summary>
    public IReadOnlyList<IommuGroup> Groups
    {
        get
        {
            lock (_lock)
                return _groups.Values.OrderBy(g => g.Id).ToArray();
        }
    }

    /// <summary>The live domains, ordered by id.</summary>
    public IReadOnlyList<IommuDomain> Domains
    {
        get
        {
            lock (_lock)
                return _domains.Values.OrderBy(d => d.Id).ToArray();
        }
    }

    /// <summary>Map calls (<see cref="IommuDomain.Map"/> and <see cref="IommuDomain.MapBatch"/>, whatever called them:
    /// the API, a VFIO container, an iommufd IOAS) that completed, on every domain of this core since it was created.</summary>
    public long MapCalls => Volatile.Read(ref _mapCalls);

    /// <summary>Unmap calls (<see cref="IommuDomain.Unmap"/>, whatever called it) that completed, over a hole too, on
    /// every domain of this core since it was created.</summary>
    public long UnmapCalls => Volatile.Read(ref _unmapCalls);

    internal void CountMapCall() => Interlocked.Increment(ref _mapCalls);

    internal void CountUnmapCall() => Interlocked.Increment(ref _unmapCalls);

    /// <summary>PASIDs currently allocated from the global space (aux domains and PASID attachments).</summary>
    public int AllocatedPasids
    {
        get
        {
            lock (_lock)
                return _pasids.Count;
        }
    }

    /// <summary>Registers an IOMMU (a VT-d DRHD, an SMMUv3) so that devices can be placed behind it
    /// (<c>iommu_device_register</c>). Its driver, by default its vendor's from <see cref="IommuDrivers.Create"/>
    /// (intel-iommu, arm-smmu-v3), takes charge of it through its registers, and every table change goes through that
    /// driver.</summary>
    /// <param name="unit">The IOMMU; its tables must live in <see cref="Memory"/>.</param>
    /// <param name="segment">The PCI segment it serves.</param>
    /// <param name="driver">A driver of the caller's (any <see cref="IIommuDriver"/>), or null for the vendor's.</param>
    /// <exception cref="IommuException">EINVAL when the unit uses other memory, or its driver's page-table format differs
    /// from the registered units'; EEXIST when it is registered already; ENOMEM when no frame is left for the driver's
    /// tables and queues; what the driver raises at probe (EOPNOTSUPP for an SMMU without 2-level tables).</exception>
    public void AddUnit(IIommuHardware unit, ushort segment = 0, IIommuDriver? driver = null)
    {
        ArgumentNullException.ThrowIfNull(unit);
        lock (_lock)
        {
            CheckNewUnit(unit);
            // The driver takes charge of the unit through its registers (a unit already running keeps its root table).
            driver ??= IommuDrivers.Create(unit);
            CheckTableStage(driver);
            RegisterUnit(new UnitState(unit, driver, segment));
        }
    }

    private void CheckNewUnit(IIommuHardware unit)
    {
        if (!ReferenceEquals(unit.Memory, Memory))
            Throw.Iommu(Errno.EINVAL, "the unit's tables live in another simulated memory than this core's");
        if (_units.Any(u => u.Unit == unit))
            Throw.Iommu(Errno.EEXIST, $"unit at {Throw.Hex(unit.RegisterBase)} is registered already");
    }

    /// <summary>A domain's one table serves every unit it is attached through, so every unit of a core walks one format.</summary>
    private void CheckTableStage(IIommuDriver driver)
    {
        if (_units.Count > 0 && _units[0].Driver.DomainTableStage != driver.DomainTableStage)
            Throw.Iommu(Errno.EINVAL, $"{driver.Name} walks {driver.DomainTableStage} tables and {_units[0].Driver.Name} of "
                + $"{_units[0].Driver.UnitName} walks {_units[0].Driver.DomainTableStage}: one core's units share one page-table format");
    }

    /// <summary>The driver in charge of a registered unit.</summary>
    /// <param name="unit">The unit.</param>
    /// <returns>Its driver.</returns>
    /// <exception cref="IommuException">ENODEV when the unit is not registered.</exception>
    public IIommuDriver GetDriver(IIommuHardware unit)
    {
        lock (_lock)
            return State(unit).Driver;
    }

    /// <summary>The vendor rules of a registered unit.</summary>
    /// <param name="unit">The unit.</param>
    /// <returns>Its vendor.</returns>
    /// <exception cref="IommuException">ENODEV when the unit is not registered.</exception>
    public IommuVendor GetVendor(IIommuHardware unit)
    {
        lock (_lock)
            return State(unit).Driver.StickyAttachModes ? IommuVendor.ArmSmmuV3 : IommuVendor.IntelVtd;
    }

    /// <summary>
    /// Adds a PCI function behind <paramref name="unit"/> (the kernel's <c>iommu_probe_device</c>) and
    /// puts it in <paramref name="group"/>, or in a new group of its own. The device joins the group's
    /// current domain; the first PCI device of a group creates the group's default domain.
    /// </summary>
    /// <param name="address">segment:bus:device.function.</param>
    /// <param name="unit">A registered unit of the same segment.</param>
    /// <param name="capabilities">PASID, ATS, PRI; <see cref="PciDeviceCapabilities.None"/> when null.</param>
    /// <param name="group">An existing group (devices that cannot be isolated from each other), or null.</param>
    /// <param name="sourceId">The id its DMA carries at the unit, from the firmware (<c>iommu_fwspec_add_ids</c>): on
    /// SMMUv3 the StreamID the IORT root complex node's ID mapping gives its requester id. Null for the requester id.</param>
    /// <returns>The device.</returns>
    /// <exception cref="IommuException">EEXIST for an address in use, or a source id another device of the unit has; ENODEV for an unregistered unit;
    /// EINVAL for a unit of another segment, a PASID width outside 0-20, or a group of mdevs; ENOENT for
    /// a removed group; what attaching to the group's domain raises (ENOSPC out of DIDs, ENOMEM).
    /// Nothing changes on an error.</exception>
    public PciDevice AddPciDevice(PciAddress address, IIommuHardware unit, PciDeviceCapabilities? capabilities = null, IommuGroup? group = null,
        ushort? sourceId = null)
    {
        ArgumentNullException.ThrowIfNull(unit);
        capabilities ??= PciDeviceCapabilities.None;
        ushort source = sourceId ?? address.RequesterId;
        lock (_lock)
        {
            if (_pciDevices.ContainsKey(address))
                Throw.Iommu(Errno.EEXIST, $"device {address} exists already");
            UnitState state = State(unit);
            if (FindBySourceId(state, source) is PciDevice other)
                Throw.Iommu(Errno.EEXIST, $"{other} reaches {state.Driver.UnitName} with source id {Throw.Hex(source)} already");
            if (state.Segment != address.Segment)
                Throw.Iommu(Errno.EINVAL, $"device {address} is in segment {address.Segment:x4}, the unit serves segment {state.Segment:x4}");
            if (capabilities.PasidWidth is < 0 or > 20)
                Throw.Iommu(Errno.EINVAL, $"PASID width {capabilities.PasidWidth} of {address} is outside 0-20");
            if (group != null)
            {
                RequireGroup(group);
                if (group.Members.Any(m => m is MediatedDevice))
                    Throw.Iommu(Errno.EINVAL, $"{group} holds mediated devices; a PCI function cannot join it");
            }
            var device = new PciDevice(address, unit, source, capabilities, _lock);
            bool newGroup = group == null;
            group ??= NewGroup();
            // ATS (and PRI) before the first attach, so the context entry allows them (the platform cleared Ats where
            // no ATSR or SATC covers the function).
            bool ats = capabilities.Ats && state.Driver.EnableDeviceAts(device.SourceId, capabilities.Pri);
            try
            {
                JoinGroup(device, group);
            }
            catch
            {
                if (ats)
                    state.Driver.DisableDeviceAts(device.SourceId);
                if (newGroup)
                    _groups.Remove(group.Id);
                throw;
            }
            device.AtsEnabled = ats;
            device.PriEnabled = ats && capabilities.Pri && state.Driver.SupportsPageRequests;
            _pciDevices.Add(address, device);
            return device;
        }
    }

    /// <summary>Looks a PCI device up by address.</summary>
    /// <param name="address">The address.</param>
    /// <returns>The device, or null.</returns>
    public PciDevice? FindPciDevice(PciAddress address)
    {
        lock (_lock)
            return _pciDevices.GetValueOrDefault(address);
    }

    /// <summary>Looks a group up by id.</summary>
    /// <param name="id">The group id.</param>
    /// <returns>The group, or null.</returns>
    public IommuGroup? FindGroup(int id)
    {
        lock (_lock)
            return _groups.GetValueOrDefault(id);
    }

    /// <summary>Looks a domain up by id.</summary>
    /// <param name="id">The domain id.</param>
    /// <returns>The domain, or null once freed.</returns>
    public IommuDomain? FindDomain(int id)
    {
        lock (_lock)
            return _domains.GetValueOrDefault(id);
    }

    /// <summary>Allocates an empty iommu group (<c>iommu_group_alloc</c>).</summary>
    /// <returns>The group.</returns>
    public IommuGroup AllocGroup()
    {
        lock (_lock)
            return NewGroup();
    }

    /// <summary>
    /// Adds a device to a group (<c>iommu_group_add_device</c>). A PCI device joins the group's domain
    /// (the default domain is created for the first PCI device). A device already in a group must be
    /// removed first.
    /// </summary>
    /// <param name="group">The group.</param>
    /// <param name="device">The device.</param>
    /// <exception cref="IommuException">EBUSY when the device is in a group already; ENOENT for a removed
    /// group; EINVAL when mdevs and PCI functions would be mixed; what attaching raises.</exception>
    public void GroupAddDevice(IommuGroup group, Device device)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(device);
        lock (_lock)
        {
            RequireGroup(group);
            if (device.Group != null)
                Throw.Iommu(Errno.EBUSY, $"{device} is in {device.Group} already");
            if (group.Members.Count > 0 && group.Members[0].GetType() != device.GetType())
                Throw.Iommu(Errno.EINVAL, $"{group} holds {(group.Members[0] is MediatedDevice ? "mediated devices" : "PCI functions")}; {device} cannot join it");
            if (device is PciDevice pci && !_pciDevices.ContainsKey(pci.Address))
                Throw.Iommu(Errno.ENODEV, $"{device} has been removed");
            JoinGroup(device, group);
        }
    }

    /// <summary>
    /// Removes a device from its group (<c>iommu_group_remove_device</c>): a PCI device leaves the
    /// group's domain (its entry is cleared). An empty group is freed.
    /// </summary>
    /// <param name="device">The device.</param>
    /// <exception cref="IommuException">ENOENT when it is in no group; EBUSY when the group has an owner (a VFIO
    /// container), is attached to a domain other than its default one, or has PASID attachments, or the device
    /// has aux domains.</exception>
    public void GroupRemoveDevice(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        lock (_lock)
        {
            IommuGroup group = device.Group ?? throw new IommuException(Errno.ENOENT, $"{device} is in no iommu group");
            if (group.Owner != null)
                Throw.Iommu(Errno.EBUSY, $"{group} belongs to {group.Owner}; take it out of its owner first");
            if (group.Domain != null && group.Domain != group.DefaultDomain)
                Throw.Iommu(Errno.EBUSY, $"{group} is attached to {group.Domain}; detach it first");
            if (group.PasidArray.Count > 0)
                Throw.Iommu(Errno.EBUSY, $"{group} has PASID attachments; detach them first");
            if (device is PciDevice pci && pci.PasidDomains.Count > 0)
                Throw.Iommu(Errno.EBUSY, $"{device} has {pci.PasidDomains.Count} PASID attachment(s); detach them first");
            if (device is PciDevice p && group.Domain != null)
                Unprogram(p, group.Domain);
            group.Members.Remove(device);
            device.Group = null;
            if (group.Members.Count == 0)
                ReleaseGroup(group);
        }
    }

    /// <summary>
    /// Removes a PCI device (<c>iommu_release_device</c>): takes it out of its group, disables AUX.
    /// </summary>
    /// <param name="device">The device.</param>
    /// <exception cref="IommuException">ENOENT when it was removed already; EBUSY as <see cref="GroupRemoveDevice"/>,
    /// or while mdev types are registered on it.</exception>
    public void RemovePciDevice(PciDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        lock (_lock)
        {
            if (!_pciDevices.ContainsKey(device.Address))
                Throw.Iommu(Errno.ENOENT, $"{device} has been removed already");
            if (_mdevTypes.ContainsKey(device))
                Throw.Iommu(Errno.EBUSY, $"{device} is an mdev parent; unregister it first");
            if (device.Group != null)
                GroupRemoveDevice(device);
            device.AuxEnabled = false;
            _pciDevices.Remove(device.Address);
        }
    }

    /// <summary>Frees every domain's page table. The units are the caller's.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            foreach (IommuDomain domain in _domains.Values)
                domain.MarkFreed();
            _domains.Clear();
        }
    }

    /// <summary>Marks a group as owned (<c>iommu_group_claim_dma_owner</c>, by a VFIO container): EBUSY when another
    /// owner has it, or when it is attached to a domain other than its default one (someone else is using it).</summary>
    internal void ClaimGroup(IommuGroup group, object owner)
    {
        lock (_lock)
        {
            RequireGroup(group);
            if (group.Owner != null)
                Throw.Iommu(Errno.EBUSY, $"{group} belongs to {group.Owner}");
            if (group.Domain != null && group.Domain != group.DefaultDomain)
                Throw.Iommu(Errno.EBUSY, $"{group} is attached to {group.Domain}; detach it first");
            if (group.PasidArray.Count > 0)
                Throw.Iommu(Errno.EBUSY, $"{group} has PASID attachments; detach them first");
            group.Owner = owner;
        }
    }

    /// <summary>EBUSY when a group or domain has an owner other than <paramref name="caller"/>: only a group's owner
    /// (the VFIO container it is set in) may change its attachments, and only a domain's owner may use it.</summary>
    private static void RequireOwner(IommuGroup? group, IommuDomain? domain, object? caller, string operation)
    {
        if (group?.Owner is { } groupOwner && !ReferenceEquals(groupOwner, caller))
            Throw.Iommu(Errno.EBUSY, $"{operation}: {group} belongs to {groupOwner}; change it through its owner");
        domain?.RequireOwner(caller, operation);
    }

    internal void ReleaseGroupOwner(IommuGroup group, object owner)
    {
        lock (_lock)
        {
            if (group.Owner == owner)
                group.Owner = null;
        }
    }

    /// <summary>The device that reaches a unit with a source id (the requester id on VT-d, the StreamID on SMMUv3).</summary>
    private PciDevice? FindBySourceId(UnitState state, ushort sourceId)
    {
        if (_pciDevices.TryGetValue(new PciAddress(state.Segment, sourceId), out PciDevice? same) && same.Unit == state.Unit && same.SourceId == sourceId)
            return same;
        foreach (PciDevice device in _pciDevices.Values)
            if (device.Unit == state.Unit && device.SourceId == sourceId)
                return device;
        return null;
    }

    private UnitState State(IIommuHardware unit) =>
        _units.Find(u => u.Unit == unit)
        ?? throw new IommuException(Errno.ENODEV, $"unit at {Throw.Hex(unit.RegisterBase)} is not registered with this core");

    private void RequireGroup(IommuGroup group)
    {
        if (!_groups.TryGetValue(group.Id, out IommuGroup? known) || known != group)
            Throw.Iommu(Errno.ENOENT, $"{group} does not exist (freed, or of another core)");
    }

    private IommuGroup NewGroup()
    {
        if (!_groupIds.TryAllocate(uint.MaxValue, out uint id))
            Throw.Iommu(Errno.ENOSPC, "no iommu group id is left");
        var group = new IommuGroup((int)id, _lock);
        _groups.Add(group.Id, group);
        return group;
    }

    private void ReleaseGroup(IommuGroup group)
    {
        if (group.DefaultDomain != null)
            FreeDomainLocked(group.DefaultDomain);
        group.DefaultDomain = null;
        group.Domain = null;
        _groups.Remove(group.Id);
        _groupIds.Free((uint)group.Id);
    }

    /// <summary>Puts a device in a group and, for a PCI device, programs the group's domain for it.</summary>
    private void JoinGroup(Device device, IommuGroup group)
    {
        if (group.PasidArray.Count > 0)
            Throw.Iommu(Errno.EBUSY, $"{group} has PASID attachments; a device cannot join it until they are detached");
        if (group.AuxParent != null && (device is not MediatedDevice mdev || mdev.IommuDevice != group.AuxParent))
            Throw.Iommu(Errno.EINVAL, $"{group} is aux-attached through {group.AuxParent}; only its sub-devices can join");
        if (device is PciDevice pci)
        {
            IommuDomain? created = null;
            if (group.Domain == null && group.DefaultDomain == null)
            {
                IommuDomainType type = Options.DefaultDomainType;
                if (type == IommuDomainType.Identity && !State(pci.Unit).Driver.SupportsIdentityDomain)
                    type = IommuDomainType.Dma;
                created = NewDomain(type, null, countsTowardLimit: false);
            }
            IommuDomain domain = group.Domain ?? created!;
            try
            {
                Program(pci, domain);
            }
            catch
            {
                if (created != null)
                    FreeDomainLocked(created);
                throw;
            }
            if (created != null)
            {
                group.DefaultDomain = created;
                group.Domain = created;
                created.Groups.Add(group);
                MarkMode(created, DomainAttachMode.Normal, pci.Unit);
            }
        }
        group.Members.Add(device);
        device.Group = group;
    }

    /// <summary>A format every registered unit can walk: the most levels up to 4 that all support,
    /// the leaf sizes all support, the smallest host address width.</summary>
    private SecondLevelFormat CommonFormat()
    {
        if (_units.Count == 0)
            return SecondLevelFormat.Default;
        int levels = 0;
        foreach (int candidate in new[] { 4, 3, 5 })
        {
            if (_units.All(u => u.Driver.SupportsLevels(candidate)))
            {
                levels = candidate;
                break;
            }
        }
        if (levels == 0)
            Throw.Iommu(Errno.EINVAL, "the registered units share no page-table depth (SAGAW); give the domain a format");
        PageSizes sizes = PageSizes.All;
        int haw = PhysicalMemory.MaxHostAddressWidth;
        foreach (UnitState u in _units)
        {
            sizes &= u.Driver.PageSizes;
            haw = Math.Min(haw, u.Driver.HostAddressWidth);
        }
        return new SecondLevelFormat { Levels = levels, PageSizes = sizes | PageSizes.Size4K, HostAddressWidth = haw, Stage = _units[0].Driver.DomainTableStage };
    }
}
