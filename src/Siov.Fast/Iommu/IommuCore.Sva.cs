namespace Siov.Fast.Iommu;

public sealed partial class IommuCore
{
    // Per process (its table's root): the SVA domain and PASID, shared by every device bound to it.
    private readonly Dictionary<ulong, (IommuDomain Domain, uint Pasid)> _svaProcesses = [];
    private readonly List<IommuSva> _svaBonds = [];

    /// <summary>
    /// <c>iommu_sva_bind_device</c>: shares a process address space with a device. The process is its IA-32e page table
    /// (<paramref name="process"/>'s root is an HPA, as CR3 holds it); it gets one PASID for all its devices, and each
    /// device's group is attached at that PASID to the process's SVA domain (VT-d: a PGTT 001b PASID entry).
    /// </summary>
    /// <param name="device">A PCI function with PASID support behind a unit with first-level translation.</param>
    /// <param name="process">The process's table (user mode unless it asks for supervisor requests).</param>
    /// <returns>The bond (the same one, with one more user, for a process already bound to the device).</returns>
    /// <exception cref="IommuException">EINVAL for a table that is not 4 or 5 levels or not aligned, or a device without
    /// PASID support; EOPNOTSUPP when the unit has no first-level translation; ENOSPC when no PASID is free; EBUSY when
    /// the device's group has an owner (a VFIO container, an iommufd context). Nothing changes on an error.</exception>
    public IommuSva SvaBindDevice(PciDevice device, Stage1Table process)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (process.Levels is not (4 or 5) || (process.Root & 0xFFF) != 0)
            Throw.Iommu(Errno.EINVAL, $"a process table has 4 or 5 levels and a 4 KiB-aligned root (got {process.Levels} at {Throw.Hex(process.Root)})");
        lock (_lock)
        {
            PciDevice pci = RequirePci(device, "SVA bind");
            IommuGroup group = pci.Group ?? throw new IommuException(Errno.ENODEV, $"{pci} is in no iommu group");
            RequireOwner(group, null, null, "SVA bind");
            if (PasidLimit(pci) <= 1)
                Throw.Iommu(Errno.EINVAL, $"{pci} has no PASID support (PASID capability and a scalable-mode unit with PASIDs are needed)");
            if (_svaBonds.Find(b => b.Device == pci && b.Domain.Stage1?.Root == process.Root) is { } existing)
            {
                existing.Users++;
                return existing;
            }
            bool newProcess = !_svaProcesses.TryGetValue(process.Root, out (IommuDomain Domain, uint Pasid) sva);
            if (newProcess)
            {
                // The process's PASID: the lowest free one (the allocator's choice, reserved by the attach below).
                if (!_pasids.TryAllocate(PasidLimit(pci), out uint pasid))
                    Throw.Iommu(Errno.ENOSPC, $"no PASID is free for {pci}");
                _pasids.Free(pasid);
                sva = (NewDomain(IommuDomainType.Sva, null, countsTowardLimit: false, process), pasid);
            }
            try
            {
                AttachGroupPasidLocked(sva.Domain, group, sva.Pasid);
            }
            catch
            {
                if (newProcess)
                    FreeDomainLocked(sva.Domain);
                throw;
            }
            _svaProcesses[process.Root] = sva;
            var bond = new IommuSva(pci, sva.Domain, sva.Pasid);
            _svaBonds.Add(bond);
            return bond;
        }
    }

    /// <summary><c>iommu_sva_unbind_device</c>: drops one user of the bond; the last one detaches the device's group from
    /// the process's PASID, and the process's last bond frees its domain and PASID.</summary>
    /// <param name="bond">A bond from <see cref="SvaBindDevice"/>.</param>
    /// <exception cref="IommuException">ENOENT for a bond that is gone.</exception>
    public void SvaUnbindDevice(IommuSva bond)
    {
        ArgumentNullException.ThrowIfNull(bond);
        lock (_lock)
        {
            if (!_svaBonds.Contains(bond))
                Throw.Iommu(Errno.ENOENT, $"the SVA bond of {bond.Device} at PASID {bond.Pasid} is gone");
            if (--bond.Users > 0)
                return;
            DetachGroupPasidLocked(bond.Domain, bond.Device.Group!, bond.Pasid);
            _svaBonds.Remove(bond);
            if (!_svaBonds.Exists(b => b.Domain == bond.Domain))
            {
                _svaProcesses.Remove(bond.Domain.Stage1!.Value.Root);
                FreeDomainLocked(bond.Domain);
            }
        }
    }

    /// <summary>The process's page table changed (the kernel's mmu notifier, <c>arch_invalidate_secondary_tlbs</c>):
    /// every unit forgets <c>[start, start + pages × 4 KiB)</c> of the process's PASID.</summary>
    /// <param name="bond">Any bond of the process.</param>
    /// <param name="start">First address, 4 KiB aligned.</param>
    /// <param name="pages">4 KiB pages (<see cref="ulong.MaxValue"/> with start 0: everything).</param>
    /// <exception cref="IommuException">EINVAL for an unaligned start or zero pages; ENOENT for a bond that is gone.</exception>
    public void SvaInvalidate(IommuSva bond, ulong start, ulong pages)
    {
        ArgumentNullException.ThrowIfNull(bond);
        lock (_lock)
        {
            if (!_svaBonds.Contains(bond))
                Throw.Iommu(Errno.ENOENT, $"the SVA bond of {bond.Device} at PASID {bond.Pasid} is gone");
        }
        bond.Domain.InvalidateStage1(start, pages);
    }
}
