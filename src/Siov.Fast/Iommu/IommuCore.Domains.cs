using Siov.Fast.Hardware;
using Siov.Fast.PageTables;

namespace Siov.Fast.Iommu;

public sealed partial class IommuCore
{
    /// <summary>
    /// Allocates a domain (<c>iommu_domain_alloc</c>). A paging domain (UNMANAGED, DMA) gets an
    /// empty second-level page table in <see cref="Memory"/>, limited to <see cref="IommuCoreOptions.MaxTablePagesPerDomain"/> pages.
    /// </summary>
    /// <param name="type">The domain type.</param>
    /// <param name="format">Page-table format of a paging domain; null picks one every registered unit
    /// can walk (4 levels where all allow it, the leaf sizes all support, the smallest HAW).</param>
    /// <returns>The domain.</returns>
    /// <exception cref="IommuException">EINVAL for an undefined type or a bad format; ENOSPC when
    /// <see cref="IommuCoreOptions.MaxDomains"/> domains are alive already; ENOMEM when memory is full.</exception>
    public IommuDomain DomainAlloc(IommuDomainType type, SecondLevelFormat? format = null) => DomainAllocAs(type, format, owner: null);

    /// <summary>Allocates a domain that only <paramref name="owner"/> may change (a VFIO container's own domain).</summary>
    internal IommuDomain DomainAllocAs(IommuDomainType type, SecondLevelFormat? format, object? owner)
    {
        if (!Enum.IsDefined(type) || type is IommuDomainType.Nested or IommuDomainType.Sva)
            Throw.Iommu(Errno.EINVAL, $"domain type {type} is not BLOCKED, IDENTITY, UNMANAGED or DMA (a nested domain comes from DomainAllocNested)");
        lock (_lock)
        {
            if (_allocatedDomains >= Options.MaxDomains)
                Throw.Iommu(Errno.ENOSPC, $"the limit of {Options.MaxDomains} allocated domains is reached; free one first");
            IommuDomain domain = NewDomain(type, format, countsTowardLimit: true);
            domain.Owner = owner;
            return domain;
        }
    }

    /// <summary>Frees a domain (<c>iommu_domain_free</c>) and its page table.</summary>
    /// <param name="domain">A domain attached nowhere.</param>
    /// <exception cref="IommuException">ENOENT for a freed domain; EBUSY while it is attached (normally, as
    /// an aux domain or at a PASID), is a group's default domain, or belongs to an <see cref="IommuDomain.Owner"/>.</exception>
    public void DomainFree(IommuDomain domain) => DomainFreeAs(domain, caller: null);

    /// <summary>
    /// <c>domain_alloc_nested</c>: a nested domain whose stage 1 is a guest's table (<paramref name="stage1"/>, GPAs) and
    /// whose stage 2 is <paramref name="parent"/>'s second-level table. Mapping changes of the parent reach it; it has no
    /// mappings of its own. The parent cannot be freed while nested domains use it.
    /// </summary>
    /// <param name="parent">An UNMANAGED domain with a second-level table (the nest parent).</param>
    /// <param name="stage1">The guest's table.</param>
    /// <returns>The domain.</returns>
    /// <exception cref="IommuException">EINVAL for a parent that is not a second-level paging domain, a nested parent, or a
    /// stage 1 that is not 4 or 5 levels or not 4 KiB aligned; EBUSY when the parent belongs to another owner; ENOSPC past
    /// the domain limit.</exception>
    public IommuDomain DomainAllocNested(IommuDomain parent, Stage1Table stage1) => DomainAllocNestedAs(parent, stage1, owner: null);

    internal IommuDomain DomainAllocNestedAs(IommuDomain parent, Stage1Table stage1, object? owner)
    {
        ArgumentNullException.ThrowIfNull(parent);
        if (stage1.Levels is not (4 or 5) || (stage1.Root & 0xFFF) != 0)
            Throw.Iommu(Errno.EINVAL, $"a stage-1 table has 4 or 5 levels and a 4 KiB-aligned root (got {stage1.Levels} levels at {Throw.Hex(stage1.Root)})");
        lock (_lock)
        {
            RequireDomain(parent);
            parent.RequireOwner(owner, "allocate a nested domain over");
            if (parent.Type != IommuDomainType.Unmanaged || parent.PageTable?.Format.Stage != PageTableStage.SecondLevel)
                Throw.Iommu(Errno.EINVAL, $"{parent} cannot be a nest parent: it needs a second-level table and type UNMANAGED");
            if (_allocatedDomains >= Options.MaxDomains)
                Throw.Iommu(Errno.ENOSPC, $"the limit of {Options.MaxDomains} allocated domains is reached; free one first");
            IommuDomain domain = NewDomain(IommuDomainType.Nested, null, countsTowardLimit: true, stage1, parent);
            domain.Owner = owner;
            parent.NestedChildren.Add(domain);
            return domain;
        }
    }

    internal void DomainFreeAs(IommuDomain domain, object? caller)
    {
        ArgumentNullException.ThrowIfNull(domain);
        lock (_lock)
        {
            RequireDomain(domain);
            RequireOwner(null, domain, caller, "free");
            if (domain.Groups.Count > 0 || domain.AuxDevices.Count > 0 || domain.PasidAttachments > 0)
                Throw.Iommu(Errno.EBUSY, $"{domain} is attached; detach it first");
            if (_groups.Values.Any(g => g.DefaultDomain == domain))
                Throw.Iommu(Errno.EBUSY, $"{domain} is a group's default domain");
            if (domain.NestedChildren.Count > 0)
                Throw.Iommu(Errno.EBUSY, $"{domain} is the nest parent of {domain.NestedChildren[0]}; free that first");
            domain.NestParent?.NestedChildren.Remove(domain);
            FreeDomainLocked(domain);
        }
    }

    /// <summary>
    /// Attaches a whole group to a domain (<c>iommu_attach_group</c>): every PCI device of the group is
    /// switched from the group's current (default) domain to <paramref name="domain"/>.
    /// </summary>
    /// <param name="domain">The domain.</param>
    /// <param name="group">A group of PCI functions.</param>
    /// <exception cref="IommuException">ENOENT for a freed domain or group; EBUSY when the group is attached to
    /// a domain other than its default one, or the domain is an aux domain of one of the group's devices;
    /// EINVAL for a group of mdevs or the group's own default domain; EPERM when the SMMUv3 rules forbid it
    /// (the domain is stickily aux); ENOSPC out of DIDs; EINVAL/ENODEV when a unit cannot use the domain's
    /// table or pass-through; EBUSY when the group or the domain has an owner (a VFIO container). Nothing changes
    /// on an error.</exception>
    public void AttachGroup(IommuDomain domain, IommuGroup group) => AttachGroupAs(domain, group, caller: null);

    internal void AttachGroupAs(IommuDomain domain, IommuGroup group, object? caller)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(group);
        lock (_lock)
            AttachGroupLocked(domain, group, caller);
    }

    /// <summary>Detaches a group from a domain (<c>iommu_detach_group</c>): its devices return to the
    /// default domain (or to no domain, blocking DMA, when it has none).</summary>
    /// <param name="domain">The domain the group is attached to.</param>
    /// <param name="group">The group.</param>
    /// <exception cref="IommuException">ENOENT when the group is not attached to that domain (or either is freed);
    /// EINVAL for a group attached with <see cref="AuxAttachGroup"/> or for the default domain itself; EBUSY when the
    /// group or the domain has an owner (a VFIO container).</exception>
    public void DetachGroup(IommuDomain domain, IommuGroup group) => DetachGroupAs(domain, group, caller: null);

    internal void DetachGroupAs(IommuDomain domain, IommuGroup group, object? caller)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(group);
        lock (_lock)
            DetachGroupLocked(domain, group, caller);
    }

    /// <summary>
    /// Attaches a device to a domain (<c>iommu_attach_device</c>): allowed only for a device alone in
    /// its group, since all devices of a group share one domain.
    /// </summary>
    /// <param name="domain">The domain.</param>
    /// <param name="device">A PCI device alone in its group.</param>
    /// <exception cref="IommuException">ENODEV for an mdev (it has no requester id: attach its
    /// <see cref="MediatedDevice.IommuDevice"/>) or a removed device; EINVAL when its group has other devices;
    /// otherwise as <see cref="AttachGroup"/>.</exception>
    public void AttachDevice(IommuDomain domain, Device device) => AttachDeviceAs(domain, device, caller: null);

    internal void AttachDeviceAs(IommuDomain domain, Device device, object? caller)
    {
        ArgumentNullException.ThrowIfNull(domain);
        lock (_lock)
            AttachGroupLocked(domain, SingletonGroup(device, "attach"), caller);
    }

    /// <summary>Detaches a device from a domain (<c>iommu_detach_device</c>); the device returns to its default domain.</summary>
    /// <param name="domain">The domain.</param>
    /// <param name="device">A PCI device alone in its group.</param>
    /// <exception cref="IommuException">As <see cref="AttachDevice"/> and <see cref="DetachGroup"/>.</exception>
    public void DetachDevice(IommuDomain domain, Device device) => DetachDeviceAs(domain, device, caller: null);

    internal void DetachDeviceAs(IommuDomain domain, Device device, object? caller)
    {
        ArgumentNullException.ThrowIfNull(domain);
        lock (_lock)
            DetachGroupLocked(domain, SingletonGroup(device, "detach"), caller);
    }

    /// <summary>
    /// The domain a device's group is attached to (<c>iommu_get_domain_for_dev</c>). For an mdev whose
    /// group was attached with <see cref="AuxAttachGroup"/>, the aux domain: the gap seed 000 closes.
    /// </summary>
    /// <param name="device">Any device.</param>
    /// <returns>The domain, or null when the device is in no group or the group has no domain.</returns>
    public IommuDomain? GetDomainForDevice(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        lock (_lock)
            return device.Group?.Domain;
    }

    private IommuDomain NewDomain(IommuDomainType type, SecondLevelFormat? format, bool countsTowardLimit,
        Stage1Table? stage1 = null, IommuDomain? nestParent = null)
    {
        SecondLevelPageTable? table = type is IommuDomainType.Unmanaged or IommuDomainType.Dma
            ? new SecondLevelPageTable(Memory, format ?? CommonFormat())
            : null;
        if (table != null)
            table.TablePageLimit = Options.MaxTablePagesPerDomain;
        var domain = new IommuDomain(_nextDomainId++, type, table, _lock)
        {
            Core = this,
            CountsTowardLimit = countsTowardLimit,
            Stage1 = stage1,
            NestParent = nestParent,
        };
        _domains.Add(domain.Id, domain);
        if (countsTowardLimit)
            _allocatedDomains++;
        return domain;
    }

    private void FreeDomainLocked(IommuDomain domain)
    {
        domain.MarkFreed();
        _domains.Remove(domain.Id);
        if (domain.CountsTowardLimit)
            _allocatedDomains--;
    }

    private void RequireDomain(IommuDomain domain)
    {
        if (!domain.IsAlive || !_domains.TryGetValue(domain.Id, out IommuDomain? known) || known != domain)
            Throw.Iommu(Errno.ENOENT, $"{domain} does not exist (freed, or of another core)");
    }

    private PciDevice RequirePci(Device device, string operation)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device is not PciDevice pci)
            throw new IommuException(Errno.ENODEV, $"{operation}: {device} is a mediated device, with no requester id of its own; use its iommu_device");
        if (!_pciDevices.TryGetValue(pci.Address, out PciDevice? known) || known != pci)
            Throw.Iommu(Errno.ENODEV, $"{operation}: {device} has been removed (or belongs to another core)");
        return pci;
    }

    private IommuGroup SingletonGroup(Device device, string operation)
    {
        PciDevice pci = RequirePci(device, operation);
        IommuGroup group = pci.Group ?? throw new IommuException(Errno.ENODEV, $"{operation}: {device} is in no iommu group");
        if (group.Members.Count != 1)
            Throw.Iommu(Errno.EINVAL, $"{operation}: {device} shares {group} with {group.Members.Count - 1} other device(s); attach the group");
        return group;
    }

    private void AttachGroupLocked(IommuDomain domain, IommuGroup group, object? caller)
    {
        RequireDomain(domain);
        RequireGroup(group);
        RequireOwner(group, domain, caller, "attach");
        if (group.Members.Any(m => m is MediatedDevice))
            Throw.Iommu(Errno.EINVAL, $"{group} holds mediated devices, which have no requester id; use AuxAttachGroup or attach the iommu_device");
        if (domain == group.DefaultDomain)
            Throw.Iommu(Errno.EINVAL, $"{domain} is the default domain of {group}; detach the other domain instead");
        if (group.Domain != null && group.Domain != group.DefaultDomain)
            Throw.Iommu(Errno.EBUSY, $"{group} is attached to {group.Domain}; detach it first");
        foreach (PciDevice pci in group.Members.Cast<PciDevice>())
        {
            if (domain.AuxDevices.ContainsKey(pci))
                Throw.Iommu(Errno.EBUSY, $"{domain} is an aux domain of {pci}; one device cannot use it both ways");
            CheckNormalAttach(domain, pci);
        }
        SwitchGroup(group, group.Domain, domain);
        if (group.Domain != null)
        {
            group.Domain.Groups.Remove(group);
            UpdateMode(group.Domain);
        }
        group.Domain = domain;
        domain.Groups.Add(group);
        foreach (PciDevice pci in group.Members.Cast<PciDevice>())
            MarkMode(domain, DomainAttachMode.Normal, pci.Unit);
        UpdateMode(domain);
    }

    private void DetachGroupLocked(IommuDomain domain, IommuGroup group, object? caller)
    {
        RequireDomain(domain);
        RequireGroup(group);
        RequireOwner(group, domain, caller, "detach");
        if (group.Domain != domain)
            Throw.Iommu(Errno.ENOENT, $"{group} is not attached to {domain}");
        if (group.AuxParent != null)
            Throw.Iommu(Errno.EINVAL, $"{group} was attached to {domain} as an aux domain; use AuxDetachGroup");
        if (domain == group.DefaultDomain)
            Throw.Iommu(Errno.EINVAL, $"{domain} is the default domain of {group}; it cannot be detached");
        SwitchGroup(group, domain, group.DefaultDomain);
        domain.Groups.Remove(group);
        UpdateMode(domain);
        group.Domain = group.DefaultDomain;
        if (group.Domain != null)
            group.Domain.Groups.Add(group);
    }

    /// <summary>Reprograms every PCI device of a group from one domain to another; all or nothing.</summary>
    private void SwitchGroup(IommuGroup group, IommuDomain? from, IommuDomain? to)
    {
        var done = new List<PciDevice>();
        foreach (PciDevice pci in group.Members.Cast<PciDevice>())
        {
            bool unprogrammed = false;
            try
            {
                // A driver may refuse the detach (arm-smmu-v3 while aux domains hang on the device's domain).
                if (from != null)
                    Unprogram(pci, from);
                unprogrammed = true;
                if (to != null)
                    Program(pci, to);
            }
            catch
            {
                // Put this device and the ones already switched back where they were.
                if (from != null && unprogrammed)
                    Program(pci, from);
                foreach (PciDevice back in done)
                {
                    if (to != null)
                        Unprogram(back, to);
                    if (from != null)
                        Program(back, from);
                }
                throw;
            }
            done.Add(pci);
        }
    }

    /// <summary>Points a device's requests without PASID at a domain: context entry (legacy) or RID_PASID entry.</summary>
    private void Program(PciDevice pci, IommuDomain domain)
    {
        if (domain.Type == IommuDomainType.Blocked)
            return; // no entry: every request faults
        ushort did = AcquireDid(domain, pci.Unit);
        // Bound before the entry goes live: an unmap that runs from then on invalidates this unit too.
        IIommuDriver driver = State(pci.Unit).Driver;
        domain.AddBinding(pci.Unit, did, driver);
        try
        {
            if (domain.Stage1 is Stage1Table stage1)
                driver.SetDevicePasidStage1(pci.SourceId, null, did, stage1, domain.ProgrammedTable);
            else
                driver.AttachDevice(pci.SourceId, did, domain.PageTable);
        }
        catch
        {
            ReleaseDid(domain, pci.Unit);
            throw;
        }
    }

    private void Unprogram(PciDevice pci, IommuDomain domain)
    {
        if (domain.Type == IommuDomainType.Blocked)
            return;
        State(pci.Unit).Driver.DetachDevice(pci.SourceId); // invalidates the context/PASID cache and IOTLB
        ReleaseDid(domain, pci.Unit);
    }

    /// <summary>Points one PASID of a device at a domain (a scalable-mode PASID entry).</summary>
    private void ProgramPasid(PciDevice pci, uint pasid, IommuDomain domain)
    {
        ushort did = AcquireDid(domain, pci.Unit);
        IIommuDriver driver = State(pci.Unit).Driver;
        domain.AddBinding(pci.Unit, did, driver); // before the entry goes live, as in Program
        try
        {
            if (domain.Stage1 is Stage1Table stage1)
                driver.SetDevicePasidStage1(pci.SourceId, pasid, did, stage1, domain.ProgrammedTable);
            else
                driver.SetDevicePasid(pci.SourceId, pasid, did, domain.PageTable);
        }
        catch
        {
            ReleaseDid(domain, pci.Unit);
            throw;
        }
    }

    private void UnprogramPasid(PciDevice pci, uint pasid, IommuDomain domain)
    {
        State(pci.Unit).Driver.RemoveDevicePasid(pci.SourceId, pasid); // invalidates the PASID cache and IOTLB
        ReleaseDid(domain, pci.Unit);
    }

    /// <summary>The domain's DID on a unit, allocated on first use there (<c>domain_attach_iommu</c>);
    /// the caller binds it with <see cref="IommuDomain.AddBinding"/> and undoes that with <see cref="ReleaseDid"/>.</summary>
    private ushort AcquireDid(IommuDomain domain, IIommuHardware unit)
    {
        if (domain.Bindings.TryGetValue(unit, out var binding))
            return binding.Did;
        UnitState state = State(unit);
        if (!state.DomainIds.TryAllocate(uint.MaxValue, out uint did))
            Throw.Iommu(Errno.ENOSPC, $"{state.Driver.UnitName} has no free domain id (it has {state.Driver.NumberOfDomains}, id 0 reserved)");
        return (ushort)did;
    }

    private void ReleaseDid(IommuDomain domain, IIommuHardware unit)
    {
        ushort? did = domain.RemoveBinding(unit);
        if (did.HasValue)
            State(unit).DomainIds.Free(did.Value);
    }

    /// <summary>The unit's driver's rule for a normal attach (SMMUv3: not for a stickily aux domain).</summary>
    private void CheckNormalAttach(IommuDomain domain, PciDevice pci) => State(pci.Unit).Driver.CheckNormalAttach(domain, pci);

    /// <summary>Records an attach mode; where the driver says modes stick (SMMUv3), for the domain's life.</summary>
    private void MarkMode(IommuDomain domain, DomainAttachMode mode, IIommuHardware unit)
    {
        if (State(unit).Driver.StickyAttachModes)
            domain.StickyMode |= mode;
        UpdateMode(domain);
    }

    private static void UpdateMode(IommuDomain domain)
    {
        DomainAttachMode live = (domain.Groups.Count > 0 ? DomainAttachMode.Normal : 0) | (domain.AuxDevices.Count > 0 ? DomainAttachMode.Aux : 0);
        domain.Mode = live | domain.StickyMode;
    }
}
