namespace Siov.Fast.Iommu;

public sealed partial class IommuCore
{
    // PASIDs reserved through iommu_attach_device_pasid, with their number of group attachments.
    // Every other allocated PASID belongs to one aux domain.
    private readonly Dictionary<uint, int> _pasidAttachmentRefs = [];

    /// <summary>
    /// Whether a device supports a feature (<c>iommu_dev_has_feature</c>). AUX needs a PCI function with a
    /// PASID capability behind a unit in scalable mode with PASID support.
    /// </summary>
    /// <param name="device">Any device.</param>
    /// <param name="feature">The feature.</param>
    /// <returns>True when the feature can be enabled.</returns>
    public bool DevHasFeature(Device device, IommuDevFeature feature)
    {
        ArgumentNullException.ThrowIfNull(device);
        lock (_lock)
        {
            return feature == IommuDevFeature.Aux && device is PciDevice pci && _pciDevices.ContainsKey(pci.Address)
                && State(pci.Unit).Driver.PasidWidth > 0 && pci.Capabilities.PasidWidth > 0;
        }
    }

    /// <summary>Whether a feature is enabled on a device (<c>iommu_dev_feature_enabled</c>).</summary>
    /// <param name="device">Any device.</param>
    /// <param name="feature">The feature.</param>
    /// <returns>True when enabled.</returns>
    public bool DevFeatureEnabled(Device device, IommuDevFeature feature)
    {
        ArgumentNullException.ThrowIfNull(device);
        lock (_lock)
            return feature == IommuDevFeature.Aux && device is PciDevice { AuxEnabled: true };
    }

    /// <summary>Enables a feature (<c>iommu_dev_enable_feature</c>). Enabling twice is allowed.</summary>
    /// <param name="device">A PCI device.</param>
    /// <param name="feature">The feature.</param>
    /// <exception cref="IommuException">ENODEV when the device does not have the feature (no PASID capability,
    /// a legacy-mode unit, a unit without PASIDs, an mdev) or has been removed.</exception>
    public void DevEnableFeature(Device device, IommuDevFeature feature)
    {
        lock (_lock)
        {
            PciDevice pci = RequirePci(device, "enable feature");
            if (!DevHasFeature(pci, feature))
                Throw.Iommu(Errno.ENODEV, $"{pci} does not support {FeatureName(feature)} (it needs a PASID capability and a scalable-mode unit with PASIDs)");
            pci.AuxEnabled = true;
        }
    }

    /// <summary>Disables a feature (<c>iommu_dev_disable_feature</c>).</summary>
    /// <param name="device">A PCI device.</param>
    /// <param name="feature">The feature.</param>
    /// <exception cref="IommuException">ENODEV when the device lacks the feature; EBUSY while aux domains are attached to it.</exception>
    public void DevDisableFeature(Device device, IommuDevFeature feature)
    {
        lock (_lock)
        {
            PciDevice pci = RequirePci(device, "disable feature");
            if (!DevHasFeature(pci, feature))
                Throw.Iommu(Errno.ENODEV, $"{pci} does not support {FeatureName(feature)}");
            if (_domains.Values.Any(d => d.AuxDevices.ContainsKey(pci)))
                Throw.Iommu(Errno.EBUSY, $"{pci} has aux domains attached; detach them before disabling {FeatureName(feature)}");
            pci.AuxEnabled = false;
        }
    }

    /// <summary>
    /// Attaches <paramref name="domain"/> to <paramref name="device"/> as an auxiliary domain
    /// (<c>iommu_aux_attach_device</c>): allocates the domain's PASID if it has none, then programs the
    /// device's PASID entry with the domain's page table and DID. Attaching the same domain to the same
    /// device again counts one more sub-device sharing it (the VT-d driver's refcount), with the same PASID.
    /// </summary>
    /// <param name="domain">An UNMANAGED domain.</param>
    /// <param name="device">A PCI device with AUX enabled.</param>
    /// <exception cref="IommuException">ENODEV when AUX is not enabled on the device (seed 000, patch 1) or it
    /// is an mdev; EINVAL for a domain that is not UNMANAGED; EBUSY when the domain is the device's primary
    /// domain; EPERM when the SMMUv3 rules forbid it (the domain is stickily normal, or has another parent
    /// domain); EINVAL under SMMUv3 when the device has no primary domain; ENOSPC when no PASID is left;
    /// ERANGE when the domain's PASID is beyond the device's or unit's width; ENOENT for a freed domain; EBUSY when
    /// the domain or the device's group has an owner (a VFIO container). Nothing changes on an error.</exception>
    public void AuxAttachDevice(IommuDomain domain, Device device)
    {
        ArgumentNullException.ThrowIfNull(domain);
        lock (_lock)
        {
            PciDevice pci = RequireAux(device, "aux attach");
            RequireOwner(pci.Group, domain, null, "aux attach");
            AuxAttachLocked(domain, pci);
        }
    }

    /// <summary>
    /// Detaches an aux domain from a device (<c>iommu_aux_detach_device</c>): drops one sub-device's use;
    /// the last one tears the PASID entry down (with PASID-cache and IOTLB invalidation), and the domain's
    /// PASID is freed once it is aux-attached nowhere.
    /// </summary>
    /// <param name="domain">The aux domain.</param>
    /// <param name="device">The device.</param>
    /// <exception cref="IommuException">ENOENT when the domain is not aux-attached to the device; EBUSY when
    /// the remaining uses belong to groups attached with <see cref="AuxAttachGroup"/>, or the domain or the device's
    /// group has an owner (a VFIO container); ENODEV as <see cref="AuxAttachDevice"/>.</exception>
    public void AuxDetachDevice(IommuDomain domain, Device device)
    {
        ArgumentNullException.ThrowIfNull(domain);
        lock (_lock)
        {
            PciDevice pci = RequireAux(device, "aux detach");
            RequireOwner(pci.Group, domain, null, "aux detach");
            int uses = domain.AuxDevices.GetValueOrDefault(pci);
            if (uses == 0)
                Throw.Iommu(Errno.ENOENT, $"{domain} is not aux-attached to {pci}");
            if (uses <= _groups.Values.Count(g => g.AuxParent == pci && g.Domain == domain))
                Throw.Iommu(Errno.EBUSY, $"{domain} is aux-attached to {pci} through iommu groups; use AuxDetachGroup");
            AuxDetachLocked(domain, pci);
        }
    }

    /// <summary>The PASID an aux domain uses on a device (<c>iommu_aux_get_pasid</c>): what the parent driver
    /// programs into the sub-device so that its DMA is tagged with it.</summary>
    /// <param name="domain">The aux domain.</param>
    /// <param name="device">The device.</param>
    /// <returns>The PASID, 1 or more.</returns>
    /// <exception cref="IommuException">ENOENT when the domain is not aux-attached to the device.</exception>
    public uint AuxGetPasid(IommuDomain domain, Device device)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(device);
        lock (_lock)
        {
            if (device is not PciDevice pci || !domain.AuxDevices.ContainsKey(pci) || domain.Pasid is not uint pasid)
                throw new IommuException(Errno.ENOENT, $"{domain} is not aux-attached to {device}");
            return pasid;
        }
    }

    /// <summary>
    /// Attaches an aux domain to a group of sub-devices (mdevs) derived from <paramref name="device"/>
    /// (<c>iommu_aux_attach_group</c>, seed 000): aux-attaches the domain to the device and records it as
    /// the group's domain, so that <see cref="GetDomainForDevice"/> of each mdev finds it.
    /// </summary>
    /// <param name="domain">An UNMANAGED domain.</param>
    /// <param name="group">A group of mdevs whose <see cref="MediatedDevice.IommuDevice"/> is <paramref name="device"/>.</param>
    /// <param name="device">The physical device with AUX enabled.</param>
    /// <exception cref="IommuException">EBUSY when the group already has a domain; EINVAL when the group is
    /// empty or holds a device not derived from <paramref name="device"/>; ENOENT for a freed group; otherwise
    /// as <see cref="AuxAttachDevice"/>.</exception>
    public void AuxAttachGroup(IommuDomain domain, IommuGroup group, Device device) => AuxAttachGroupAs(domain, group, device, caller: null);

    internal void AuxAttachGroupAs(IommuDomain domain, IommuGroup group, Device device, object? caller)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(group);
        lock (_lock)
        {
            PciDevice pci = RequireAux(device, "aux attach group");
            RequireGroup(group);
            RequireOwner(group, domain, caller, "aux attach group");
            RequireOwner(pci.Group, null, caller, "aux attach group");
            if (group.Domain != null)
                Throw.Iommu(Errno.EBUSY, $"{group} is attached to {group.Domain} already");
            if (group.Members.Count == 0)
                Throw.Iommu(Errno.EINVAL, $"{group} has no devices");
            foreach (Device member in group.Members)
            {
                if (member is not MediatedDevice mdev || mdev.IommuDevice != pci)
                    Throw.Iommu(Errno.EINVAL, $"{member} in {group} is not a sub-device whose iommu_device is {pci}");
            }
            AuxAttachLocked(domain, pci);
            group.Domain = domain;
            group.AuxParent = pci;
        }
    }

    /// <summary>Detaches an aux domain from a group of sub-devices (<c>iommu_aux_detach_group</c>).</summary>
    /// <param name="domain">The domain attached with <see cref="AuxAttachGroup"/>.</param>
    /// <param name="group">The group.</param>
    /// <param name="device">The physical device.</param>
    /// <exception cref="IommuException">ENOENT when the group is not aux-attached to that domain through that device;
    /// EBUSY when the group or the domain has an owner (a VFIO container).</exception>
    public void AuxDetachGroup(IommuDomain domain, IommuGroup group, Device device) => AuxDetachGroupAs(domain, group, device, caller: null);

    internal void AuxDetachGroupAs(IommuDomain domain, IommuGroup group, Device device, object? caller)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(group);
        lock (_lock)
        {
            PciDevice pci = RequireAux(device, "aux detach group");
            RequireGroup(group);
            RequireOwner(group, domain, caller, "aux detach group");
            if (group.Domain != domain || group.AuxParent != pci)
                Throw.Iommu(Errno.ENOENT, $"{group} is not aux-attached to {domain} through {pci}");
            AuxDetachLocked(domain, pci);
            group.Domain = null;
            group.AuxParent = null;
        }
    }

    /// <summary>
    /// The aux domain of a device (<c>iommu_aux_get_domain_for_dev</c>): <see cref="GetDomainForDevice"/>
    /// when that domain is an aux domain, else null. The domain carries the aux flag, not the group
    /// (the reviewers' side in seed 001).
    /// </summary>
    /// <param name="device">Typically an mdev.</param>
    /// <returns>The aux domain or null.</returns>
    public IommuDomain? AuxGetDomainForDevice(Device device)
    {
        IommuDomain? domain = GetDomainForDevice(device);
        return domain is { IsAux: true } ? domain : null;
    }

    /// <summary>
    /// Attaches a domain at a PASID of every device in <paramref name="device"/>'s group
    /// (<c>iommu_attach_device_pasid</c>, the aux API's successor).
    /// </summary>
    /// <param name="domain">A paging or IDENTITY domain.</param>
    /// <param name="device">A PCI device; its whole group is attached.</param>
    /// <param name="pasid">PASID, 1 to 2^<see cref="IommuCoreOptions.PasidBits"/> - 1.</param>
    /// <exception cref="IommuException">As <see cref="AttachGroupPasid"/>.</exception>
    public void AttachDevicePasid(IommuDomain domain, Device device, uint pasid)
    {
        ArgumentNullException.ThrowIfNull(domain);
        lock (_lock)
        {
            PciDevice pci = RequirePci(device, "attach PASID");
            RequireOwner(pci.Group, domain, null, "attach PASID");
            AttachGroupPasidLocked(domain, pci.Group ?? throw new IommuException(Errno.ENODEV, $"{pci} is in no iommu group"), pasid);
        }
    }

    /// <summary>Detaches what <see cref="AttachDevicePasid"/> attached (<c>iommu_detach_device_pasid</c>).</summary>
    /// <param name="domain">The domain.</param>
    /// <param name="device">A device of the group.</param>
    /// <param name="pasid">The PASID.</param>
    /// <exception cref="IommuException">As <see cref="DetachGroupPasid"/>.</exception>
    public void DetachDevicePasid(IommuDomain domain, Device device, uint pasid)
    {
        ArgumentNullException.ThrowIfNull(domain);
        lock (_lock)
        {
            PciDevice pci = RequirePci(device, "detach PASID");
            RequireOwner(pci.Group, domain, null, "detach PASID");
            DetachGroupPasidLocked(domain, pci.Group ?? throw new IommuException(Errno.ENODEV, $"{pci} is in no iommu group"), pasid);
        }
    }

    /// <summary>
    /// Attaches a domain at a PASID of every device of a group. The PASID must fit every device and its
    /// unit; it is reserved in the global PASID space while attached, so aux domains never get it.
    /// </summary>
    /// <param name="domain">A paging or IDENTITY domain.</param>
    /// <param name="group">A non-empty group of PCI devices.</param>
    /// <param name="pasid">PASID, 1 to 2^<see cref="IommuCoreOptions.PasidBits"/> - 1.</param>
    /// <exception cref="IommuException">EINVAL for PASID 0 (RID_PASID), a BLOCKED domain, an empty group, a group
    /// of mdevs, or a device without PASID support; ERANGE for a PASID beyond the global space or a device's or
    /// unit's width; EBUSY when the PASID is used on the group or one of its devices, or belongs to an aux
    /// domain; ENOENT for a freed domain or group; EBUSY when the group or the domain has an owner (a VFIO
    /// container). Nothing changes on an error.</exception>
    public void AttachGroupPasid(IommuDomain domain, IommuGroup group, uint pasid) => AttachGroupPasidAs(domain, group, pasid, caller: null);

    internal void AttachGroupPasidAs(IommuDomain domain, IommuGroup group, uint pasid, object? caller)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(group);
        lock (_lock)
        {
            RequireOwner(group, domain, caller, "attach PASID");
            AttachGroupPasidLocked(domain, group, pasid);
        }
    }

    /// <summary>Detaches a domain from a PASID of every device of a group.</summary>
    /// <param name="domain">The domain attached there.</param>
    /// <param name="group">The group.</param>
    /// <param name="pasid">The PASID.</param>
    /// <exception cref="IommuException">ENOENT when that domain is not attached at that PASID of the group; EBUSY when
    /// the group or the domain has an owner (a VFIO container).</exception>
    public void DetachGroupPasid(IommuDomain domain, IommuGroup group, uint pasid) => DetachGroupPasidAs(domain, group, pasid, caller: null);

    internal void DetachGroupPasidAs(IommuDomain domain, IommuGroup group, uint pasid, object? caller)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(group);
        lock (_lock)
        {
            RequireOwner(group, domain, caller, "detach PASID");
            DetachGroupPasidLocked(domain, group, pasid);
        }
    }

    /// <summary>The domain attached at a PASID of a device (<c>iommu_get_domain_for_dev_pasid</c>), aux or not.</summary>
    /// <param name="device">A PCI device.</param>
    /// <param name="pasid">The PASID.</param>
    /// <returns>The domain, or null.</returns>
    public IommuDomain? GetDomainForDevicePasid(Device device, uint pasid)
    {
        lock (_lock)
            return device is PciDevice pci ? pci.PasidDomains.GetValueOrDefault(pasid) : null;
    }

    private static string FeatureName(IommuDevFeature feature) => feature == IommuDevFeature.Aux ? "IOMMU_DEV_FEAT_AUX" : feature.ToString();

    private PciDevice RequireAux(Device device, string operation)
    {
        PciDevice pci = RequirePci(device, operation);
        if (!pci.AuxEnabled)
            Throw.Iommu(Errno.ENODEV, $"{operation}: IOMMU_DEV_FEAT_AUX is not enabled on {pci}");
        return pci;
    }

    private uint PasidLimit(PciDevice pci) => 1u << Math.Min(State(pci.Unit).Driver.PasidWidth, pci.Capabilities.PasidWidth);

    private void AuxAttachLocked(IommuDomain domain, PciDevice pci)
    {
        RequireDomain(domain);
        if (domain.Type != IommuDomainType.Unmanaged)
            Throw.Iommu(Errno.EINVAL, $"{domain} is {domain.Type.ToString().ToUpperInvariant()}; only UNMANAGED domains can be aux domains");
        if (domain.AuxDevices.TryGetValue(pci, out int uses))
        {
            domain.AuxDevices[pci] = uses + 1; // another sub-device shares the domain and its PASID
            return;
        }
        if (pci.Group?.Domain == domain)
            Throw.Iommu(Errno.EBUSY, $"{domain} is the primary domain of {pci}; it cannot also be its aux domain");
        // The vendor's rule (SMMUv3: sticky modes, one parent domain); VT-d keeps no parent.
        IommuDomain? parent = State(pci.Unit).Driver.CheckAuxAttach(domain, pci);

        uint limit = PasidLimit(pci);
        bool fresh = false;
        uint pasid;
        if (domain.Pasid is uint existing)
        {
            pasid = existing;
            if (pasid >= limit)
                Throw.Iommu(Errno.ERANGE, $"{domain} uses PASID {pasid}, beyond the PASIDs of {pci} (below {limit})");
        }
        else
        {
            if (!_pasids.TryAllocate(limit, out pasid))
                Throw.Iommu(Errno.ENOSPC, $"no free PASID below {Math.Min(limit, _pasids.Limit)} for {pci}");
            fresh = true;
        }
        try
        {
            if (pci.PasidDomains.ContainsKey(pasid))
                Throw.Iommu(Errno.EBUSY, $"PASID {pasid} of {pci} is in use");
            ProgramPasid(pci, pasid, domain);
        }
        catch
        {
            if (fresh)
                _pasids.Free(pasid);
            throw;
        }
        domain.Pasid = pasid;
        domain.AuxDevices[pci] = 1;
        pci.PasidDomains[pasid] = domain;
        if (parent != null)
            domain.AuxParent = parent;
        MarkMode(domain, DomainAttachMode.Aux, pci.Unit);
    }

    private void AuxDetachLocked(IommuDomain domain, PciDevice pci)
    {
        int uses = domain.AuxDevices[pci];
        if (uses > 1)
        {
            domain.AuxDevices[pci] = uses - 1;
            return;
        }
        uint pasid = domain.Pasid!.Value;
        UnprogramPasid(pci, pasid, domain);
        domain.AuxDevices.Remove(pci);
        pci.PasidDomains.Remove(pasid);
        if (domain.AuxDevices.Count == 0)
        {
            _pasids.Free(pasid); // freed on last detach
            domain.Pasid = null;
            domain.AuxParent = null;
        }
        UpdateMode(domain);
    }

    private void AttachGroupPasidLocked(IommuDomain domain, IommuGroup group, uint pasid)
    {
        RequireDomain(domain);
        RequireGroup(group);
        if (domain.Type == IommuDomainType.Blocked)
            Throw.Iommu(Errno.EINVAL, $"{domain} is BLOCKED; detach the PASID instead");
        if (pasid == 0)
            Throw.Iommu(Errno.EINVAL, "PASID 0 is RID_PASID, the requests without PASID; attach the device instead");
        if (pasid >= _pasids.Limit)
            Throw.Iommu(Errno.ERANGE, $"PASID {pasid} is beyond the {Options.PasidBits}-bit PASID space");
        if (group.Members.Count == 0)
            Throw.Iommu(Errno.EINVAL, $"{group} has no devices");
        foreach (Device member in group.Members)
        {
            if (member is not PciDevice pci)
                throw new IommuException(Errno.EINVAL, $"{member} in {group} is a mediated device; PASIDs belong to PCI functions");
            if (PasidLimit(pci) <= 1)
                Throw.Iommu(Errno.EINVAL, $"{pci} has no PASID support (PASID capability and a scalable-mode unit with PASIDs are needed)");
            if (pasid >= PasidLimit(pci))
                Throw.Iommu(Errno.ERANGE, $"PASID {pasid} is beyond the PASIDs of {pci} (below {PasidLimit(pci)})");
            if (pci.PasidDomains.TryGetValue(pasid, out IommuDomain? used))
                Throw.Iommu(Errno.EBUSY, $"PASID {pasid} of {pci} is attached to {used}");
        }
        if (group.PasidArray.ContainsKey(pasid))
            Throw.Iommu(Errno.EBUSY, $"PASID {pasid} is attached on {group} already");
        if (_pasids.IsAllocated(pasid) && !_pasidAttachmentRefs.ContainsKey(pasid))
            Throw.Iommu(Errno.EBUSY, $"PASID {pasid} belongs to an aux domain");

        var done = new List<PciDevice>();
        try
        {
            foreach (PciDevice pci in group.Members.Cast<PciDevice>())
            {
                ProgramPasid(pci, pasid, domain);
                done.Add(pci);
            }
        }
        catch
        {
            foreach (PciDevice pci in done)
                UnprogramPasid(pci, pasid, domain);
            throw;
        }
        foreach (PciDevice pci in done)
            pci.PasidDomains[pasid] = domain;
        group.PasidArray[pasid] = domain;
        domain.PasidAttachments++;
        if (_pasidAttachmentRefs.TryGetValue(pasid, out int refs))
            _pasidAttachmentRefs[pasid] = refs + 1;
        else
        {
            _pasids.Reserve(pasid);
            _pasidAttachmentRefs[pasid] = 1;
        }
    }

    private void DetachGroupPasidLocked(IommuDomain domain, IommuGroup group, uint pasid)
    {
        RequireGroup(group);
        if (!group.PasidArray.TryGetValue(pasid, out IommuDomain? attached) || attached != domain)
            Throw.Iommu(Errno.ENOENT, $"{domain} is not attached at PASID {pasid} of {group}");
        foreach (PciDevice pci in group.Members.Cast<PciDevice>())
        {
            UnprogramPasid(pci, pasid, domain);
            pci.PasidDomains.Remove(pasid);
        }
        group.PasidArray.Remove(pasid);
        domain.PasidAttachments--;
        if (--_pasidAttachmentRefs[pasid] == 0)
        {
            _pasidAttachmentRefs.Remove(pasid);
            _pasids.Free(pasid);
        }
    }
}
