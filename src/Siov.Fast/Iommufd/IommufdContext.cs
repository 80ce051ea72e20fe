using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;

namespace Siov.Fast.Iommufd;

/// <summary>
/// An open <c>/dev/iommu</c> (<c>struct iommufd_ctx</c>) over the engine's object model, next to VFIO type1 containers:
/// objects by id (IOAS, bound devices, paging and nested HWPTs, fault objects), <c>IOMMU_DESTROY</c>, device bind and
/// attach/replace/detach, HWPT allocation with nest-parent, dirty-tracking and fault-id flags, and <c>IOMMU_GET_HW_INFO</c>. Errors are
/// <see cref="IommuException"/> with the errno iommufd answers, and change nothing. Thread-safe (one lock per context).
/// </summary>
/// <param name="core">The object model the context works on.</param>
public sealed class IommufdContext(IommuCore core) : IDisposable
{
    private readonly Dictionary<uint, IommufdObject> _objects = [];
    private uint _nextId = 1;
    private bool _closed;

    /// <summary>The object model.</summary>
    public IommuCore Core { get; } = core ?? throw new ArgumentNullException(nameof(core));

    /// <summary>The context's lock (reentrant: an IOAS copy maps through the same lock).</summary>
    internal object Lock { get; } = new();

    /// <summary>The live objects, by id.</summary>
    public IReadOnlyList<IommufdObject> Objects
    {
        get
        {
            lock (Lock)
                return [.. _objects.Values.OrderBy(o => o.Id)];
        }
    }

    /// <summary>The object with <paramref name="id"/>, of type <typeparamref name="T"/>.</summary>
    /// <exception cref="IommuException">ENOENT when there is none of that type (iommufd answers so for a wrong type too).</exception>
    public T Get<T>(uint id) where T : IommufdObject
    {
        lock (Lock)
        {
            RequireOpen();
            return _objects.TryGetValue(id, out IommufdObject? o) && o is T typed
                ? typed : throw new IommuException(Errno.ENOENT, $"no {typeof(T).Name.Replace("Iommufd", "", StringComparison.Ordinal)} object {id}");
        }
    }

    /// <summary><c>IOMMU_IOAS_ALLOC</c>.</summary>
    /// <returns>The new, empty IOAS.</returns>
    public IommufdIoas AllocIoas()
    {
        lock (Lock)
        {
            RequireOpen();
            return Add(new IommufdIoas(this, _nextId));
        }
    }

    /// <summary><c>IOMMU_FAULT_QUEUE_ALLOC</c>: a fault object that HWPTs allocated with its id report page faults to.</summary>
    /// <returns>The new, empty fault object.</returns>
    /// <exception cref="IommuException">ENOENT when the context is closed.</exception>
    public IommufdFault AllocFault()
    {
        lock (Lock)
        {
            RequireOpen();
            return Add(new IommufdFault(this, _nextId));
        }
    }

    /// <summary>
    /// <c>VFIO_DEVICE_BIND_IOMMUFD</c>: binds a device and claims its iommu group for this context.
    /// </summary>
    /// <param name="device">A PCI function or an mdev of the core.</param>
    /// <returns>The bound device.</returns>
    /// <exception cref="IommuException">EBUSY when the device is bound already or its group belongs to another owner (a
    /// VFIO container, another context) or is attached elsewhere; EINVAL for a device without a group.</exception>
    public IommufdDevice BindDevice(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        lock (Lock)
        {
            RequireOpen();
            if (_objects.Values.OfType<IommufdDevice>().Any(d => d.Device == device))
                Throw.Iommu(Errno.EBUSY, $"{device} is bound to this context already");
            IommuGroup group = device.Group ?? throw new IommuException(Errno.EINVAL, $"{device} has no iommu group");
            // Devices of one group share the claim: the first bind takes it.
            if (!_objects.Values.OfType<IommufdDevice>().Any(d => d.Device.Group == group))
                Core.ClaimGroup(group, this);
            return Add(new IommufdDevice(this, _nextId, device));
        }
    }

    /// <summary>
    /// <c>IOMMU_HWPT_ALLOC</c> of a paging HWPT for <paramref name="deviceId"/>'s IOMMU over <paramref name="ioasId"/>.
    /// </summary>
    /// <param name="deviceId">A bound device (whose IOMMU the domain must suit).</param>
    /// <param name="ioasId">The IOAS to mirror.</param>
    /// <param name="flags">Nest parent, dirty tracking, fault id valid.</param>
    /// <param name="faultId">With <see cref="IommufdHwptAllocOptions.FaultIdValid"/>: the fault object the HWPT's page faults go to.</param>
    /// <returns>The HWPT (not attached).</returns>
    /// <exception cref="IommuException">ENOENT for an unknown device or fault object; EINVAL when <paramref name="ioasId"/>
    /// is not an IOAS; EOPNOTSUPP for unknown flags or dirty tracking the device's unit cannot do; ENOSPC past the core's
    /// domain limit.</exception>
    public IommufdHwptPaging AllocHwpt(uint deviceId, uint ioasId, IommufdHwptAllocOptions flags = IommufdHwptAllocOptions.None, uint faultId = 0)
    {
        lock (Lock)
        {
            IommufdDevice device = Get<IommufdDevice>(deviceId);
            if ((flags & ~(IommufdHwptAllocOptions.NestParent | IommufdHwptAllocOptions.DirtyTracking | IommufdHwptAllocOptions.FaultIdValid)) != 0)
                Throw.Iommu(Errno.EOPNOTSUPP, $"IOMMU_HWPT_ALLOC: unknown flags 0x{(int)flags:x}");
            IommufdFault? fault = (flags & IommufdHwptAllocOptions.FaultIdValid) != 0 ? Get<IommufdFault>(faultId) : null;
            // iommufd_hwpt_alloc answers EINVAL for any pt_id it cannot use, missing or of another type.
            IommufdIoas ioas = _objects.TryGetValue(ioasId, out IommufdObject? o) && o is IommufdIoas i
                ? i : throw new IommuException(Errno.EINVAL, $"IOMMU_HWPT_ALLOC: object {ioasId} is not an IOAS");
            if ((flags & IommufdHwptAllocOptions.DirtyTracking) != 0 && !HwInfoOf(device.Device).DirtyTracking)
                Throw.Iommu(Errno.EOPNOTSUPP, $"IOMMU_HWPT_ALLOC: the IOMMU of {device.Device} cannot track dirty pages");
            IommufdHwptPaging hwpt = NewHwpt(ioas, flags & ~IommufdHwptAllocOptions.FaultIdValid, auto: false);
            if (fault != null)
                hwpt.UseFault(fault);
            return hwpt;
        }
    }

    /// <summary>
    /// <c>IOMMU_HWPT_ALLOC</c> of a nested HWPT (<c>IOMMU_HWPT_DATA_VTD_S1</c>): the guest's stage-1 table over a
    /// nest-parent paging HWPT, which it keeps in use.
    /// </summary>
    /// <param name="deviceId">A bound device.</param>
    /// <param name="parentId">A paging HWPT allocated with <see cref="IommufdHwptAllocOptions.NestParent"/>.</param>
    /// <param name="stage1">VT-d's <c>iommu_hwpt_vtd_s1</c>.</param>
    /// <param name="faultId">A fault object for the HWPT's page faults (<c>IOMMU_HWPT_FAULT_ID_VALID</c>), or 0 for none.</param>
    /// <returns>The nested HWPT (not attached).</returns>
    /// <exception cref="IommuException">ENOENT for an unknown device; EINVAL when <paramref name="parentId"/> is not a
    /// nest-parent paging HWPT allocated by hand (an auto one cannot be), or the address width is not 48 or 57;
    /// EOPNOTSUPP for unknown flags.</exception>
    public IommufdHwptNested AllocHwptNested(uint deviceId, uint parentId, VtdStage1 stage1, uint faultId = 0)
    {
        lock (Lock)
        {
            Get<IommufdDevice>(deviceId);
            IommufdFault? fault = faultId != 0 ? Get<IommufdFault>(faultId) : null;
            if (((uint)stage1.Flags & ~7u) != 0)
                Throw.Iommu(Errno.EOPNOTSUPP, $"IOMMU_HWPT_ALLOC: unknown VT-d stage-1 flags 0x{(uint)stage1.Flags:x}");
            IommufdHwptPaging parent = _objects.TryGetValue(parentId, out IommufdObject? o) && o is IommufdHwptPaging p
                && (p.Flags & IommufdHwptAllocOptions.NestParent) != 0 && !p.IsAuto
                ? p : throw new IommuException(Errno.EINVAL, $"IOMMU_HWPT_ALLOC: object {parentId} is not a nest-parent paging HWPT");
            if (stage1.AddressWidth is not (48 or 57))
                Throw.Iommu(Errno.EINVAL, $"IOMMU_HWPT_ALLOC: stage-1 address width {stage1.AddressWidth} is neither 48 nor 57");
            if ((stage1.Flags & VtdStage1Options.ExtendedAccessedFlag) != 0)
                Throw.Iommu(Errno.EINVAL, "IOMMU_HWPT_ALLOC: EAFE needs ECAP_REG.EAFS, which no modelled unit has");
            IommuDomain domain = Core.DomainAllocNestedAs(parent.Domain, new Stage1Table(stage1.PageTableAddress, stage1.AddressWidth == 57 ? 5 : 4,
                (stage1.Flags & VtdStage1Options.SupervisorRequests) != 0, (stage1.Flags & VtdStage1Options.WriteProtect) != 0), owner: this);
            parent.Users++;
            IommufdHwptNested nested = Add(new IommufdHwptNested(this, _nextId, parent, domain, stage1));
            if (fault != null)
                nested.UseFault(fault);
            return nested;
        }
    }

    /// <summary><c>IOMMU_GET_HW_INFO</c> for a bound device: its unit's VT-d registers.</summary>
    /// <param name="deviceId">A bound device.</param>
    /// <returns>The information.</returns>
    /// <exception cref="IommuException">ENOENT for an unknown id; EOPNOTSUPP for an mdev without an iommu_device.</exception>
    public IommufdHwInfo GetHwInfo(uint deviceId)
    {
        lock (Lock)
            return HwInfoOf(Get<IommufdDevice>(deviceId).Device);
    }

    /// <summary>
    /// <c>VFIO_DEVICE_ATTACH_IOMMUFD_PT</c>: attaches the device to a paging HWPT, or to an IOAS through an auto HWPT (an
    /// existing one of that IOAS that takes the device, else a new one).
    /// </summary>
    /// <param name="deviceId">A bound device.</param>
    /// <param name="ptId">A paging HWPT or an IOAS.</param>
    /// <returns>The HWPT the device is attached to.</returns>
    /// <remarks>An attached device is replaced instead, as <c>vfio_iommufd_physical_attach_ioas</c> does since Linux 6.6.</remarks>
    /// <exception cref="IommuException">ENOENT for an unknown id; EINVAL for an object that is neither an IOAS nor a paging
    /// HWPT; the domain's errors (EINVAL, EPERM, ENODEV) when the device cannot use the HWPT.</exception>
    public IommufdHwpt Attach(uint deviceId, uint ptId)
    {
        lock (Lock)
        {
            IommufdDevice device = Get<IommufdDevice>(deviceId);
            return device.Hwpt != null ? Replace(deviceId, ptId) : AttachLocked(device, ptId);
        }
    }

    /// <summary>
    /// <c>iommufd_device_replace</c>: moves an attached device to another HWPT or IOAS with no moment unattached to
    /// either; the old auto HWPT goes away when it has no device left. On failure the device stays where it was.
    /// </summary>
    /// <param name="deviceId">An attached device.</param>
    /// <param name="ptId">The new paging HWPT or IOAS.</param>
    /// <returns>The HWPT the device is attached to now.</returns>
    /// <exception cref="IommuException">EINVAL when the device is not attached; as <see cref="Attach"/>.</exception>
    public IommufdHwpt Replace(uint deviceId, uint ptId)
    {
        lock (Lock)
        {
            IommufdDevice device = Get<IommufdDevice>(deviceId);
            IommufdHwpt old = device.Hwpt ?? throw new IommuException(Errno.EINVAL, $"{device} is not attached: attach it");
            IommufdObject target = GetAny(ptId);
            if (target == old || (target is IommufdIoas ioas && old is IommufdHwptPaging { IsAuto: true } paging && paging.Ioas == ioas))
                return old;
            // The core moves a group from one domain to another without a blocked moment; undo on failure.
            DetachLocked(device, keepAuto: true);
            try
            {
                IommufdHwpt now = AttachLocked(device, ptId);
                DestroyIfUnusedAuto(old);
                return now;
            }
            catch
            {
                AttachTo(device, old);
                throw;
            }
        }
    }

    /// <summary>
    /// <c>VFIO_DEVICE_ATTACH_IOMMUFD_PT</c> with a PASID (<c>iommufd_device_attach</c> with a pasid): attaches a HWPT at
    /// one PASID of a physical device (its group, as <c>iommu_attach_group_pasid</c>); attached already, it is replaced.
    /// </summary>
    /// <param name="deviceId">A bound PCI device.</param>
    /// <param name="pasid">The PASID (not 0).</param>
    /// <param name="hwptId">A paging or nested HWPT, or an IOAS (through an auto HWPT, as the device attach does).</param>
    /// <returns>The HWPT.</returns>
    /// <exception cref="IommuException">ENOENT for unknown ids; EINVAL for an mdev, an object that is neither an IOAS nor a
    /// HWPT, PASID 0 or a device without PASID support; ERANGE beyond its PASID width; EBUSY when another owner holds the
    /// PASID.</exception>
    public IommufdHwpt AttachPasid(uint deviceId, uint pasid, uint hwptId)
    {
        lock (Lock)
        {
            IommufdDevice device = Get<IommufdDevice>(deviceId);
            if (device.Device is not PciDevice)
                Throw.Iommu(Errno.EINVAL, $"{device.Device} is a mediated device: its PASIDs are its parent's");
            IommufdObject target = _objects.TryGetValue(hwptId, out IommufdObject? o) && o is IommufdHwpt or IommufdIoas
                ? o : throw new IommuException(Errno.EINVAL, $"object {hwptId} is neither an IOAS nor a HWPT");
            device.PasidAttachments.TryGetValue(pasid, out IommufdHwpt? old);
            if (old != null && (old == target || (target is IommufdIoas same && old is IommufdHwptPaging { IsAuto: true } p && p.Ioas == same)))
                return old;
            if (old != null)
                DetachPasidLocked(device, pasid, keepAuto: true);
            try
            {
                IommufdHwpt now = target is IommufdHwpt hwpt ? AttachPasidTo(device, pasid, hwpt) : AttachPasidToIoas(device, pasid, (IommufdIoas)target);
                if (old != null)
                    DestroyIfUnusedAuto(old);
                return now;
            }
            catch
            {
                if (old != null)
                    AttachPasidTo(device, pasid, old);
                throw;
            }
        }
    }

    /// <summary>Detaches whatever HWPT is attached at a PASID of the device.</summary>
    /// <param name="deviceId">A bound device.</param>
    /// <param name="pasid">The PASID.</param>
    /// <exception cref="IommuException">ENOENT for an unknown id or nothing attached there.</exception>
    public void DetachPasid(uint deviceId, uint pasid)
    {
        lock (Lock)
        {
            IommufdDevice device = Get<IommufdDevice>(deviceId);
            if (!device.PasidAttachments.ContainsKey(pasid))
                Throw.Iommu(Errno.ENOENT, $"nothing is attached at PASID {pasid} of {device}");
            DetachPasidLocked(device, pasid, keepAuto: false);
        }
    }

    private IommufdHwpt AttachPasidTo(IommufdDevice device, uint pasid, IommufdHwpt hwpt)
    {
        RequirePageFaults(device, hwpt);
        Core.AttachGroupPasidAs(hwpt.Domain, device.Device.Group!, pasid, caller: this);
        device.PasidAttachments[pasid] = hwpt;
        hwpt.Users++;
        return hwpt;
    }

    private IommufdHwpt AttachPasidToIoas(IommufdDevice device, uint pasid, IommufdIoas ioas)
    {
        foreach (IommufdHwptPaging existing in ioas.Hwpts.Where(h => h.IsAuto).ToArray())
        {
            try
            {
                return AttachPasidTo(device, pasid, existing);
            }
            catch (IommuException e) when (e.Code is Errno.EPERM or Errno.ENODEV)
            {
                // This auto domain cannot take the PASID (vendor rule): try the next, then a new one.
            }
        }
        IommufdHwptPaging created = NewHwpt(ioas, IommufdHwptAllocOptions.None, auto: true);
        try
        {
            return AttachPasidTo(device, pasid, created);
        }
        catch
        {
            Remove(created);
            throw;
        }
    }

    private void DetachPasidLocked(IommufdDevice device, uint pasid, bool keepAuto)
    {
        IommufdHwpt hwpt = device.PasidAttachments[pasid];
        Core.DetachGroupPasidAs(hwpt.Domain, device.Device.Group!, pasid, caller: this);
        device.PasidAttachments.Remove(pasid);
        hwpt.Users--;
        if (!keepAuto)
            DestroyIfUnusedAuto(hwpt);
    }

    /// <summary><c>VFIO_DEVICE_DETACH_IOMMUFD_PT</c>: the device goes back to its group's default domain.</summary>
    /// <param name="deviceId">An attached device.</param>
    /// <exception cref="IommuException">ENOENT for an unknown id; EINVAL when it is not attached.</exception>
    public void Detach(uint deviceId)
    {
        lock (Lock)
        {
            IommufdDevice device = Get<IommufdDevice>(deviceId);
            if (device.Hwpt == null)
                Throw.Iommu(Errno.EINVAL, $"{device} is not attached");
            DetachLocked(device, keepAuto: false);
        }
    }

    /// <summary>
    /// <c>IOMMU_DESTROY</c>: removes an object nobody uses; a bound device is unbound (detached first when attached, as
    /// closing the VFIO device file does).
    /// </summary>
    /// <param name="id">Any object's id.</param>
    /// <exception cref="IommuException">ENOENT for an unknown id; EBUSY while another object or an attachment uses it.</exception>
    public void Destroy(uint id)
    {
        lock (Lock)
        {
            RequireOpen();
            IommufdObject o = GetAny(id);
            if (o is IommufdDevice device)
            {
                foreach (uint pasid in device.PasidAttachments.Keys.ToArray())
                    DetachPasidLocked(device, pasid, keepAuto: false);
                if (device.Hwpt != null)
                    DetachLocked(device, keepAuto: false);
            }
            if (o.Users > 0)
                Throw.Iommu(Errno.EBUSY, $"IOMMU_DESTROY: {o} is in use ({o.Users} user(s))");
            Remove(o);
        }
    }

    /// <summary>Closes the context: devices are detached and unbound, HWPTs freed, IOASes emptied. Idempotent.</summary>
    public void Dispose()
    {
        lock (Lock)
        {
            if (_closed)
                return;
            foreach (IommufdDevice device in _objects.Values.OfType<IommufdDevice>().ToArray())
            {
                foreach (uint pasid in device.PasidAttachments.Keys.ToArray())
                    DetachPasidLocked(device, pasid, keepAuto: false);
                if (device.Hwpt != null)
                    DetachLocked(device, keepAuto: false);
                Remove(device);
            }
            foreach (IommufdHwptNested nested in _objects.Values.OfType<IommufdHwptNested>().ToArray())
                Remove(nested);
            foreach (IommufdHwptPaging hwpt in _objects.Values.OfType<IommufdHwptPaging>().ToArray())
                Remove(hwpt);
            foreach (IommufdFault fault in _objects.Values.OfType<IommufdFault>().ToArray())
                Remove(fault);
            foreach (IommufdIoas ioas in _objects.Values.OfType<IommufdIoas>().ToArray())
            {
                ioas.Unmap(0, ulong.MaxValue);
                Remove(ioas);
            }
            _closed = true;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => "iommufd context";

    internal void RequireLive(IommufdObject o)
    {
        RequireOpen();
        if (!_objects.TryGetValue(o.Id, out IommufdObject? live) || live != o)
            Throw.Iommu(Errno.ENOENT, $"{o} was destroyed");
    }

    private void RequireOpen()
    {
        if (_closed)
            Throw.Iommu(Errno.ENOENT, "the iommufd context is closed");
    }

    private IommufdObject GetAny(uint id) =>
        _objects.TryGetValue(id, out IommufdObject? o) ? o : throw new IommuException(Errno.ENOENT, $"no iommufd object {id}");

    private T Add<T>(T o) where T : IommufdObject
    {
        _objects.Add(o.Id, o);
        _nextId++;
        return o;
    }

    private void Remove(IommufdObject o)
    {
        o.Release();
        _objects.Remove(o.Id);
    }

    private IommufdHwptPaging NewHwpt(IommufdIoas ioas, IommufdHwptAllocOptions flags, bool auto)
    {
        IommuDomain domain = Core.DomainAllocAs(IommuDomainType.Unmanaged, null, owner: this);
        var hwpt = new IommufdHwptPaging(this, _nextId, ioas, domain, flags, auto);
        try
        {
            ioas.AddHwpt(hwpt);
        }
        catch
        {
            Core.DomainFreeAs(domain, caller: this);
            throw;
        }
        return Add(hwpt);
    }

    private IommufdHwpt AttachLocked(IommufdDevice device, uint ptId)
    {
        switch (GetAny(ptId))
        {
            case IommufdHwpt hwpt:
                AttachTo(device, hwpt);
                return hwpt;
            case IommufdIoas ioas:
                foreach (IommufdHwptPaging existing in ioas.Hwpts.Where(h => h.IsAuto).ToArray())
                {
                    try
                    {
                        AttachTo(device, existing);
                        return existing;
                    }
                    catch (IommuException e) when (e.Code is Errno.EINVAL or Errno.EPERM or Errno.ENODEV or Errno.ERANGE)
                    {
                        // This auto domain cannot take the device (format, vendor rule): try the next, then a new one.
                    }
                }
                IommufdHwptPaging created = NewHwpt(ioas, IommufdHwptAllocOptions.None, auto: true);
                try
                {
                    AttachTo(device, created);
                }
                catch
                {
                    Remove(created);
                    throw;
                }
                return created;
            default:
                throw new IommuException(Errno.EINVAL, $"object {ptId} is neither an IOAS nor a paging HWPT");
        }
    }

    /// <summary>Attaches the device's group (or, for an mdev, aux-attaches through its iommu_device) to the HWPT's domain.
    /// A group another bound device already attached there is shared; attached elsewhere, EINVAL.</summary>
    private void AttachTo(IommufdDevice device, IommufdHwpt hwpt)
    {
        RequirePageFaults(device, hwpt);
        IommuGroup group = device.Device.Group!;
        IommufdDevice? sibling = _objects.Values.OfType<IommufdDevice>().FirstOrDefault(d => d != device && d.Device.Group == group && d.Hwpt != null);
        if (sibling != null)
        {
            if (sibling.Hwpt != hwpt)
                Throw.Iommu(Errno.EINVAL, $"{group} is attached to {sibling.Hwpt} through {sibling}; all its devices share one HWPT");
        }
        else if (device.Device is MediatedDevice mdev)
        {
            PciDevice parent = mdev.IommuDevice ?? throw new IommuException(Errno.EINVAL, $"{mdev} has no iommu_device: its vendor driver isolates it");
            Core.AuxAttachGroupAs(hwpt.Domain, group, parent, caller: this);
        }
        else
        {
            Core.AttachGroupAs(hwpt.Domain, group, caller: this);
        }
        device.Hwpt = hwpt;
        hwpt.Users++;
    }

    private void DetachLocked(IommufdDevice device, bool keepAuto)
    {
        IommufdHwpt hwpt = device.Hwpt!;
        IommuGroup group = device.Device.Group!;
        bool lastOfGroup = !_objects.Values.OfType<IommufdDevice>().Any(d => d != device && d.Device.Group == group && d.Hwpt == hwpt);
        if (lastOfGroup)
        {
            if (device.Device is MediatedDevice mdev)
                Core.AuxDetachGroupAs(hwpt.Domain, group, mdev.IommuDevice!, caller: this);
            else
                Core.DetachGroupAs(hwpt.Domain, group, caller: this);
        }
        device.Hwpt = null;
        hwpt.Users--;
        if (!keepAuto)
            DestroyIfUnusedAuto(hwpt);
    }

    private void DestroyIfUnusedAuto(IommufdHwpt hwpt)
    {
        if (hwpt.IsAuto && hwpt.Users == 0 && _objects.ContainsKey(hwpt.Id))
            Remove(hwpt);
    }

    /// <summary>A HWPT with a fault object needs a device that can fault (PRI enabled: <c>IOMMU_DEV_FEAT_IOPF</c>).</summary>
    private static void RequirePageFaults(IommufdDevice device, IommufdHwpt hwpt)
    {
        if (hwpt.Fault == null)
            return;
        PciDevice? pci = device.Device as PciDevice ?? (device.Device as MediatedDevice)?.IommuDevice;
        if (pci is not { PriEnabled: true })
            Throw.Iommu(Errno.EOPNOTSUPP, $"{hwpt} reports page faults and {device.Device} cannot send page requests (no ATS and PRI enabled)");
    }

    private static IommufdHwInfo HwInfoOf(Device device)
    {
        PciDevice pci = device as PciDevice ?? (device as MediatedDevice)?.IommuDevice
            ?? throw new IommuException(Errno.EOPNOTSUPP, $"{device} has no IOMMU of its own (an mdev without iommu_device)");
        if (pci.Unit is Hardware.SmmuV3.Smmu smmu)
        {
            // arm_smmu_hw_info: the ID registers as read, flags 0; no dirty tracking (no HTTU in the model).
            return new IommufdHwInfo(IommufdHwInfo.ArmSmmuV3, 0, 0, 0, false)
            {
                SmmuIdr = [.. Enumerable.Range(0, 6).Select(i => (uint)smmu.Read(Hardware.SmmuV3.SmmuRegisters.Idr0 + (ulong)(4 * i), 4))],
                SmmuIidr = (uint)smmu.Read(Hardware.SmmuV3.SmmuRegisters.Iidr, 4),
                SmmuAidr = (uint)smmu.Read(Hardware.SmmuV3.SmmuRegisters.Aidr, 4),
            };
        }
        if (pci.Unit is not RemappingUnit unit)
            throw new IommuException(Errno.EOPNOTSUPP, $"{device} is behind an IOMMU iommufd has no IOMMU_GET_HW_INFO type for");
        return new IommufdHwInfo(IommufdHwInfo.IntelVtd, IommufdHwInfo.Errata772415Spr17, unit.Capability.Encode(), unit.ExtendedCapability.Encode(),
            unit.IsScalableMode && unit.ExtendedCapability.SecondLevelAccessedDirty);
    }
}
