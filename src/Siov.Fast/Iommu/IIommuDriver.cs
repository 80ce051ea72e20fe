using Siov.Fast.PageTables;

namespace Siov.Fast.Iommu;

/// <summary>
/// What the vendor-neutral core asks of an IOMMU driver for one unit, modelled on the kernel's <c>iommu_ops</c> and
/// <c>iommu_domain_ops</c>: program a device's requests without PASID (<c>attach_dev</c>), one PASID of a device
/// (<c>set_dev_pasid</c>, <c>remove_dev_pasid</c>), flush the IOTLB after an unmap (<c>iotlb_sync</c>), and the
/// vendor's rules for aux domains. The core keeps no vendor switch: every vendor difference is behind this interface.
/// Calls come from the core under its lock; an error is an <see cref="IommuException"/> and changes nothing. A
/// <c>requesterId</c> is the id the unit sees (<see cref="PciDevice.SourceId"/>): the requester id on VT-d, the StreamID on
/// SMMUv3.
/// </summary>
public interface IIommuDriver
{
    /// <summary>The driver's kernel name: <c>intel-iommu</c>, <c>arm-smmu-v3</c>.</summary>
    string Name { get; }

    /// <summary>How messages name the unit the driver is in charge of, e.g. <c>unit at 0xfed90000</c> (its register base).</summary>
    string UnitName { get; }

    /// <summary>PASID width in bits the driver can program (the kernel's <c>max_pasids</c> as a width); 0 when the unit
    /// runs without PASIDs (VT-d legacy mode, or no ECAP_REG.PASID).</summary>
    int PasidWidth { get; }

    /// <summary>Whether the unit can run an identity (pass-through) domain (VT-d ECAP_REG.PT).</summary>
    bool SupportsIdentityDomain { get; }

    /// <summary>Leaf sizes the unit's paging format supports (the kernel's <c>pgsize_bitmap</c>); 4 KiB always.</summary>
    PageSizes PageSizes { get; }

    /// <summary>The entry format of the page tables the unit walks for a domain (the kernel's io-pgtable format chosen at
    /// <c>domain_alloc</c>): VT-d second level, or AArch64 stage 1 on SMMUv3 (whose DMA domains are stage 1, as Linux's).
    /// Every unit of one core has the same, since a domain's one table serves every unit it is attached through.</summary>
    PageTableStage DomainTableStage { get; }

    /// <summary>The platform's host address width in bits (VT-d: the DMAR table's HAW): tables and pages lie below 2^HAW.</summary>
    int HostAddressWidth { get; }

    /// <summary>Number of domain ids the unit has (VT-d CAP_REG.ND; id 0 is reserved, so 1 to N - 1 are usable).</summary>
    int NumberOfDomains { get; }

    /// <summary>Whether the unit walks page tables of <paramref name="levels"/> levels (VT-d CAP_REG.SAGAW).</summary>
    /// <param name="levels">3, 4 or 5.</param>
    /// <returns>True when supported.</returns>
    bool SupportsLevels(int levels);

    /// <summary>Enables ATS (and PRI) for a function that has the capabilities and that the platform lets use them, before
    /// its first attach (<c>iommu_enable_pci_caps</c>): its context entry (VT-d DTE) or STE (SMMUv3 EATS) then allows ATS,
    /// and the driver follows IOTLB invalidations with device-TLB invalidations (SMMUv3: CMD_ATC_INV).</summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pageRequests">Enable PRI too.</param>
    /// <returns>False when the unit cannot (no device-TLB support).</returns>
    /// <exception cref="IommuException">EBUSY when the function is attached already.</exception>
    bool EnableDeviceAts(ushort requesterId, bool pageRequests);

    /// <summary>Whether the unit takes page requests (PRI) from the functions whose ATS it enabled with
    /// <c>pageRequests</c>: VT-d in scalable mode with ECAP_REG.PRS; false on an SMMUv3 without a modelled PRI queue.</summary>
    bool SupportsPageRequests { get; }

    /// <summary>Undoes <see cref="EnableDeviceAts"/> (a probe that failed, a function that went away).</summary>
    /// <param name="requesterId">Source id.</param>
    void DisableDeviceAts(ushort requesterId);

    /// <summary>Raised for every page request the unit queued (<c>iommu_report_device_fault</c>); the core routes it to
    /// the domain's I/O page fault handler. Never raised by a driver without page requests.</summary>
    event EventHandler<Ats.PageRequest>? PageRequestReported;

    /// <summary>Answers a page request group (<c>ops-&gt;page_response</c>).</summary>
    /// <param name="response">The answer.</param>
    /// <exception cref="IommuException">EOPNOTSUPP when the unit takes no page requests.</exception>
    void PageResponse(in Ats.PageGroupResponse response);

    /// <summary>Points the requests without PASID of <paramref name="requesterId"/> at a domain (<c>attach_dev</c>).</summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="domainId">The domain's id on this unit (DID, ASID).</param>
    /// <param name="table">The domain's second-level table, or null for an identity (pass-through) domain.</param>
    /// <exception cref="IommuException">EBUSY when attached already; ERANGE for an id out of range; EINVAL for a table
    /// the unit cannot walk; ENODEV for pass-through the unit lacks; ENOMEM when memory is full.</exception>
    void AttachDevice(ushort requesterId, ushort domainId, SecondLevelPageTable? table);

    /// <summary>Undoes <see cref="AttachDevice"/>, with the invalidations it needs.</summary>
    /// <param name="requesterId">Source id.</param>
    /// <exception cref="IommuException">ENOENT when the device is not attached.</exception>
    void DetachDevice(ushort requesterId);

    /// <summary>Points one PASID of a device at a domain (<c>set_dev_pasid</c>).</summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pasid">The PASID.</param>
    /// <param name="domainId">The domain's id on this unit.</param>
    /// <param name="table">The domain's table, or null for pass-through.</param>
    /// <exception cref="IommuException">As <see cref="AttachDevice"/>; ERANGE for a PASID beyond the unit's width.</exception>
    void SetDevicePasid(ushort requesterId, uint pasid, ushort domainId, SecondLevelPageTable? table);

    /// <summary>Points a device's requests without PASID (<paramref name="pasid"/> null) or one PASID at a stage-1 table:
    /// a guest's over <paramref name="secondStage"/> (nested; VT-d PGTT 011b), or, with no second stage, a process's
    /// address space whose root is an HPA (SVA; VT-d PGTT 001b).</summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pasid">A PASID, or null for requests without one.</param>
    /// <param name="domainId">The nested domain's id on this unit.</param>
    /// <param name="stage1">The guest's table (root GPA, levels, controls).</param>
    /// <param name="secondStage">The nest parent's second-level table, or null for first level alone.</param>
    /// <exception cref="IommuException">EOPNOTSUPP without nesting (legacy mode, no ECAP_REG.NEST); EINVAL for a stage 1
    /// the unit cannot walk (5 levels without FL5LP, SRE without SRS); as <see cref="SetDevicePasid"/>.</exception>
    void SetDevicePasidStage1(ushort requesterId, uint? pasid, ushort domainId, Stage1Table stage1, SecondLevelPageTable? secondStage);

    /// <summary>Undoes <see cref="SetDevicePasid"/> with its invalidations (<c>remove_dev_pasid</c>).</summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pasid">The PASID.</param>
    /// <exception cref="IommuException">ENOENT when nothing is set at that PASID.</exception>
    void RemoveDevicePasid(ushort requesterId, uint pasid);

    /// <summary>Invalidates the unit's IOTLB for a range of a domain after an unmap (<c>iotlb_sync</c>); returns once
    /// no translation that starts afterwards can see the old mapping.</summary>
    /// <param name="domainId">The domain's id on this unit.</param>
    /// <param name="pasid">A PASID, or null for every PASID of the domain.</param>
    /// <param name="iova">First IOVA.</param>
    /// <param name="size">Bytes, at least 1.</param>
    void FlushIotlbRange(ushort domainId, uint? pasid, ulong iova, ulong size);

    /// <summary>Turns the hardware's dirty tracking on or off for every entry that points at the domain <paramref name="domainId"/>
    /// (<c>iommu_dirty_ops.set_dirty_tracking</c>), with the invalidations that make the change seen. Entries written
    /// later follow the table's <see cref="SecondLevelPageTable.DirtyTracking"/>.</summary>
    /// <param name="domainId">The domain's id on this unit.</param>
    /// <param name="enabled">On or off.</param>
    /// <exception cref="IommuException">EOPNOTSUPP when the unit cannot track dirty pages.</exception>
    void SetDirtyTracking(ushort domainId, bool enabled);

    /// <summary>The faults the driver has read from the unit (Linux's <c>dmar_fault</c> reading the fault recording
    /// registers), oldest first, bounded.</summary>
    Hardware.Vtd.FaultLog Faults { get; }

    /// <summary>True when a domain's attach mode (normal or aux) sticks for its life once used (SMMUv3, seed 004).</summary>
    bool StickyAttachModes { get; }

    /// <summary>Vendor rule before a normal attach of <paramref name="domain"/> to <paramref name="device"/>.</summary>
    /// <param name="domain">The domain.</param>
    /// <param name="device">The device.</param>
    /// <exception cref="IommuException">EPERM when the vendor forbids it (SMMUv3: the domain is stickily aux).</exception>
    void CheckNormalAttach(IommuDomain domain, PciDevice device);

    /// <summary>Vendor rule before an aux attach; returns the parent domain to record (SMMUv3: the device's primary
    /// domain), or null when the vendor keeps none (VT-d).</summary>
    /// <param name="domain">The aux domain.</param>
    /// <param name="device">The parent device.</param>
    /// <returns>The aux domain's parent, or null.</returns>
    /// <exception cref="IommuException">EPERM when the vendor forbids it (SMMUv3: stickily normal, or another parent);
    /// EINVAL when the device has no primary domain under SMMUv3 rules.</exception>
    IommuDomain? CheckAuxAttach(IommuDomain domain, PciDevice device);
}
