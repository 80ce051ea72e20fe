using Siov.Fast.Hardware;
using Siov.Fast.PageTables;

namespace Siov.Fast.Iommu;

/// <summary>
/// An iommu domain (<c>struct iommu_domain</c>): an I/O address space. A paging domain
/// (UNMANAGED or DMA) owns a VT-d second-level page table in the core's simulated memory and,
/// on each remapping unit it is used on, a domain id (DID) that tags its IOTLB entries.
/// </summary>
/// <remarks>
/// <see cref="Map"/> and <see cref="Unmap"/> serialize per domain; <see cref="Unmap"/> returns
/// only after the IOTLB of every unit the domain is attached on has been invalidated for the
/// range, so no translation that starts afterwards sees the old mapping.
/// </remarks>
public sealed class IommuDomain
{
    private readonly Lock _mapLock = new();
    // Unit -> (DID, number of entries programmed with it). Changed under the core lock and _mapLock.
    internal readonly Dictionary<IIommuHardware, (ushort Did, int Entries, IIommuDriver Driver)> Bindings = [];
    internal readonly List<IommuGroup> Groups = [];                 // groups attached normally
    internal readonly Dictionary<PciDevice, int> AuxDevices = [];   // aux attachments, with sub-device refcount
    internal int PasidAttachments;                                   // iommu_attach_device_pasid users
    internal readonly List<IommuDomain> NestedChildren = [];         // nested domains over this one (flushed with it)
    internal DomainAttachMode StickyMode;                            // modes seen on SMMUv3 units
    private readonly Lock _coreLock;

    internal IommuDomain(int id, IommuDomainType type, SecondLevelPageTable? table, Lock coreLock)
    {
        Id = id;
        Type = type;
        PageTable = table;
        _coreLock = coreLock;
    }

    /// <summary>The core that allocated the domain: it counts the domain's map and unmap calls.</summary>
    internal IommuCore? Core { get; init; }

    /// <summary>Domain number in this core (not a DID: those are per unit, see <see cref="GetDomainId"/>).</summary>
    public int Id { get; }

    /// <summary>The domain type.</summary>
    public IommuDomainType Type { get; }

    /// <summary>The second-level page table of a paging domain (UNMANAGED, DMA); null for BLOCKED and IDENTITY.</summary>
    public SecondLevelPageTable? PageTable { get; }

    /// <summary>True for UNMANAGED and DMA domains, which translate through <see cref="PageTable"/>.</summary>
    public bool IsPaging => PageTable != null;

    /// <summary>The attach modes seen so far. Under VT-d rules it follows the live attachments; under
    /// SMMUv3 rules the first mode is sticky for the domain's life.</summary>
    public DomainAttachMode Mode { get; internal set; }

    /// <summary>True when the domain is an aux domain: attached (now, or stickily under SMMUv3) through a
    /// PASID as an auxiliary domain. The domain itself carries this (the reviewers' side in seed 001).</summary>
    public bool IsAux => (Mode & DomainAttachMode.Aux) != 0;

    /// <summary>The PASID of the aux domain (the VT-d driver's <c>default_pasid</c>): one PASID for every
    /// device the domain is aux-attached to; null when it is aux-attached nowhere.</summary>
    public uint? Pasid { get; internal set; }

    /// <summary>SMMUv3 rule: the primary domain of the devices this aux domain is attached to; null otherwise.</summary>
    public IommuDomain? AuxParent { get; internal set; }

    /// <summary>False once freed with <see cref="IommuCore.DomainFree"/>.</summary>
    public bool IsAlive { get; internal set; } = true;

    /// <summary>The owner that allocated the domain for its own use (a <see cref="Vfio.VfioContainer"/>), or null.
    /// An owned domain can be changed only by its owner: any other attach, detach, map, unmap or free of it fails
    /// with EBUSY naming the owner (VFIO type1 keeps its domains to itself).</summary>
    public object? Owner { get; internal set; }

    /// <summary>True for a domain allocated with <see cref="IommuCore.DomainAlloc"/> (it counts toward
    /// <see cref="IommuCoreOptions.MaxDomains"/>); false for a group's default domain.</summary>
    internal bool CountsTowardLimit { get; init; }

    /// <summary>The DID of the domain on each unit it is used on, a consistent snapshot.</summary>
    /// <returns>Unit and DID pairs, in no particular order.</returns>
    public IReadOnlyList<KeyValuePair<IIommuHardware, ushort>> GetDomainIds()
    {
        lock (_coreLock)
            return Bindings.Select(b => new KeyValuePair<IIommuHardware, ushort>(b.Key, b.Value.Did)).ToArray();
    }

    /// <summary>The DID this domain uses on <paramref name="unit"/>, or null when it is not attached there.</summary>
    /// <param name="unit">A remapping unit.</param>
    /// <returns>The DID or null.</returns>
    public ushort? GetDomainId(IIommuHardware unit)
    {
        lock (_coreLock)
            return Bindings.TryGetValue(unit, out var binding) ? binding.Did : null;
    }

    /// <summary>The groups attached to the domain normally, a snapshot.</summary>
    public IReadOnlyList<IommuGroup> AttachedGroups
    {
        get
        {
            lock (_coreLock)
                return Groups.ToArray();
        }
    }

    /// <summary>The devices the domain is aux-attached to, a snapshot.</summary>
    public IReadOnlyList<PciDevice> AuxAttachedDevices
    {
        get
        {
            lock (_coreLock)
                return AuxDevices.Keys.ToArray();
        }
    }

    /// <summary>True while anything is attached: a group, an aux device or a PASID attachment.</summary>
    public bool IsAttached
    {
        get
        {
            lock (_coreLock)
                return Groups.Count > 0 || AuxDevices.Count > 0 || PasidAttachments > 0;
        }
    }

    /// <summary>
    /// The domain's I/O page fault handler (<c>iommu_domain-&gt;iopf_handler</c>): called for every complete page request
    /// group from a function whose requests translate through this domain, on the thread that delivered the page request
    /// event. It may map the pages and answer <see cref="Ats.PageResponseCode.Success"/> (the function retries), answer
    /// invalid, or keep the group and answer later. Null (the default): the core answers "invalid request". A handler that
    /// throws gets the group answered "invalid request" if it had not answered, and is counted
    /// (<see cref="IommuCore.FailedPageFaultHandlers"/>).
    /// </summary>
    public Action<IopfGroup>? IopfHandler { get; set; }

    /// <summary>
    /// Maps <c>[iova, iova + size)</c> to <c>[hpa, hpa + size)</c> (kernel <c>iommu_map</c>), with
    /// the largest page sizes alignment allows. Takes effect for translations at once.
    /// </summary>
    /// <param name="iova">First IOVA, 4 KiB aligned.</param>
    /// <param name="hpa">First HPA, 4 KiB aligned.</param>
    /// <param name="size">Bytes, a non-zero multiple of 4 KiB.</param>
    /// <param name="protection">Read, Write or both.</param>
    /// <exception cref="IommuException">EINVAL for a BLOCKED or IDENTITY domain or a freed one; EBUSY for a domain
    /// with an <see cref="Owner"/>; otherwise as <see cref="SecondLevelPageTable.Map"/> (EINVAL, ERANGE, EEXIST,
    /// ENOMEM, ENOSPC above <see cref="SecondLevelPageTable.TablePageLimit"/>). Nothing changes on an error.</exception>
    public void Map(ulong iova, ulong hpa, ulong size, DmaProtection protection) => MapAs(iova, hpa, size, protection, caller: null);

    internal void MapAs(ulong iova, ulong hpa, ulong size, DmaProtection protection, object? caller)
    {
        SecondLevelPageTable table = RequirePaging("map");
        lock (_mapLock)
        {
            RequireAlive();
            RequireOwner(caller, "map");
            table.Map(iova, hpa, size, protection);
        }
        Core?.CountMapCall();
    }

    /// <summary>
    /// Maps many ranges at once, all or nothing (<see cref="SecondLevelPageTable.MapBatch"/>): either every
    /// range is mapped or, on an error, none is and the table and the frame allocator are as they were.
    /// </summary>
    /// <param name="mappings">The ranges: IOVA, HPA and size 4 KiB aligned, sizes non-zero, protections Read, Write or both.</param>
    /// <exception cref="IommuException">As <see cref="Map(ulong, ulong, ulong, DmaProtection)"/>; EEXIST also when two
    /// ranges of the batch overlap. <see cref="IommuException.Index"/> names the failing range.</exception>
    public void MapBatch(ReadOnlySpan<IoMapping> mappings)
    {
        SecondLevelPageTable table = RequirePaging("map");
        lock (_mapLock)
        {
            RequireAlive();
            RequireOwner(null, "map");
            table.MapBatch(mappings);
        }
        Core?.CountMapCall();
    }

    /// <summary>A nested domain's stage-1 table (GPA root), or an SVA domain's process table (HPA root); null otherwise.</summary>
    public Stage1Table? Stage1 { get; internal init; }

    /// <summary>A nested domain's parent, whose table is its stage 2; null otherwise.</summary>
    public IommuDomain? NestParent { get; internal init; }

    /// <summary>The table a driver programs for this domain: its own, or its nest parent's (the stage 2).</summary>
    internal SecondLevelPageTable? ProgrammedTable => NestParent?.PageTable ?? PageTable;

    /// <summary>
    /// Stage-1 cache invalidation of a nested domain (<c>IOMMU_HWPT_INVALIDATE</c>, VT-d's PASID-based IOTLB
    /// invalidation): after the guest changed its table, the units forget <c>[iova, iova + pages × 4 KiB)</c>, or
    /// everything when <paramref name="iova"/> is 0 and <paramref name="pages"/> is <see cref="ulong.MaxValue"/>.
    /// </summary>
    /// <param name="iova">First IOVA, 4 KiB aligned.</param>
    /// <param name="pages">4 KiB pages.</param>
    /// <exception cref="IommuException">EINVAL for a domain that is not nested, an unaligned address, zero pages, or
    /// "everything" not starting at 0.</exception>
    public void InvalidateStage1(ulong iova, ulong pages) => InvalidateStage1As(iova, pages, caller: null);

    internal void InvalidateStage1As(ulong iova, ulong pages, object? caller)
    {
        if (Type is not (IommuDomainType.Nested or IommuDomainType.Sva))
            Throw.Iommu(Errno.EINVAL, $"{this} is neither nested nor SVA: it has no stage-1 caches to invalidate");
        if ((iova & 0xFFF) != 0 || pages == 0 || (pages == ulong.MaxValue && iova != 0))
            Throw.Iommu(Errno.EINVAL, $"stage-1 invalidation of {Throw.Hex(iova)}, {pages} pages: the address must be 4 KiB aligned, pages not 0, and all pages start at 0");
        lock (_mapLock)
        {
            RequireAlive();
            RequireOwner(caller, "invalidate stage 1");
            ulong size = pages == ulong.MaxValue || pages > (ulong.MaxValue - iova) >> 12 ? 1UL << 63 : pages << 12;
            foreach ((ushort did, int _, IIommuDriver driver) in Bindings.Values)
                driver.FlushIotlbRange(did, null, iova, size);
        }
    }

    /// <summary>Whether the hardware tracks this domain's dirty pages (<see cref="SetDirtyTracking"/>).</summary>
    public bool DirtyTracking => PageTable?.DirtyTracking ?? false;

    /// <summary>
    /// <c>iommu_dirty_ops.set_dirty_tracking</c>: every unit the domain is bound to starts (or stops) setting A/D in its
    /// second-level entries, and units it is bound to later do the same. All or nothing: a unit that cannot leaves every
    /// other as it was.
    /// </summary>
    /// <param name="enabled">On or off.</param>
    /// <exception cref="IommuException">EOPNOTSUPP for a domain without a second-level table, or a unit without dirty
    /// tracking (VT-d ECAP_REG.SLADS); EBUSY when the domain belongs to a container; ENOENT when it was freed.</exception>
    public void SetDirtyTracking(bool enabled) => SetDirtyTrackingAs(enabled, caller: null);

    internal void SetDirtyTrackingAs(bool enabled, object? caller)
    {
        SecondLevelPageTable table = PageTable is { Format.Stage: PageTableStage.SecondLevel } t ? t
            : throw new IommuException(Errno.EOPNOTSUPP, $"{this} has no second-level table: it cannot track dirty pages");
        lock (_mapLock)
        {
            RequireAlive();
            RequireOwner(caller, "set dirty tracking");
            if (table.DirtyTracking == enabled)
                return;
            var done = new List<(ushort Did, IIommuDriver Driver)>();
            try
            {
                foreach ((ushort did, int _, IIommuDriver driver) in Bindings.Values)
                {
                    driver.SetDirtyTracking(did, enabled);
                    done.Add((did, driver));
                }
            }
            catch
            {
                foreach ((ushort did, IIommuDriver driver) in done)
                    driver.SetDirtyTracking(did, !enabled);
                throw;
            }
            table.DirtyTracking = enabled;
        }
    }

    /// <summary>
    /// <c>iommu_dirty_ops.read_and_clear_dirty</c>: the leaves in <c>[iova, iova + size)</c> the hardware marked dirty,
    /// clearing the marks unless <paramref name="noClear"/>, then the IOTLB flush of the range the kernel does after a
    /// clear (a cached writable entry would let writes pass unrecorded).
    /// </summary>
    /// <param name="iova">First IOVA (4 KiB aligned).</param>
    /// <param name="size">Bytes (whole pages).</param>
    /// <param name="noClear">Report without clearing (<c>IOMMU_DIRTY_NO_CLEAR</c>).</param>
    /// <returns>The dirty leaves in IOVA order.</returns>
    /// <exception cref="IommuException">EOPNOTSUPP without a second-level table; EINVAL or ERANGE for the range; EBUSY
    /// when the domain belongs to a container; ENOENT when it was freed.</exception>
    public IReadOnlyList<IoMapping> ReadAndClearDirty(ulong iova, ulong size, bool noClear = false) => ReadAndClearDirtyAs(iova, size, noClear, caller: null);

    internal IReadOnlyList<IoMapping> ReadAndClearDirtyAs(ulong iova, ulong size, bool noClear, object? caller)
    {
        SecondLevelPageTable table = PageTable is { Format.Stage: PageTableStage.SecondLevel } t ? t
            : throw new IommuException(Errno.EOPNOTSUPP, $"{this} has no second-level table: it cannot track dirty pages");
        lock (_mapLock)
        {
            RequireAlive();
            RequireOwner(caller, "read dirty pages");
            IReadOnlyList<IoMapping> dirty = table.ReadAndClearDirty(iova, size, noClear);
            if (!noClear && dirty.Count > 0)
            {
                foreach ((ushort did, int _, IIommuDriver driver) in Bindings.Values)
                    driver.FlushIotlbRange(did, null, iova, size);
            }
            return dirty;
        }
    }

    /// <summary>
    /// Unmaps <c>[iova, iova + size)</c> (kernel <c>iommu_unmap</c> with the VT-d driver's rule: a leaf
    /// that intersects the range goes whole), then invalidates the IOTLB of every unit the domain is
    /// attached on, page-selective for the range under the domain's DID (all PASIDs).
    /// </summary>
    /// <param name="iova">First IOVA, 4 KiB aligned.</param>
    /// <param name="size">Bytes, a non-zero multiple of 4 KiB.</param>
    /// <returns>Bytes unmapped (0 over a hole; more than <paramref name="size"/> when a superpage was partly covered).</returns>
    /// <exception cref="IommuException">EINVAL for a non-paging or freed domain, zero or unaligned input; ERANGE
    /// beyond the address width; EBUSY for a domain with an <see cref="Owner"/>. Nothing changes on an error.</exception>
    public ulong Unmap(ulong iova, ulong size) => UnmapAs(iova, size, caller: null);

    // prune: also free the table pages left empty in the range, for a caller taking back a map it just made (a VFIO
    // container rolling back a map another of its domains refused), so the frame allocator is as before.
    internal ulong UnmapAs(ulong iova, ulong size, object? caller, bool prune = false)
    {
        SecondLevelPageTable table = RequirePaging("unmap");
        lock (_mapLock)
        {
            RequireAlive();
            RequireOwner(caller, "unmap");
            ulong unmapped = prune ? table.UnmapAndPrune(iova, size) : table.Unmap(iova, size);
            Core?.CountUnmapCall();
            // Every leaf removed intersects the range, and page-selective invalidation drops any entry
            // that overlaps it (a superpage entry whole), so the range itself is enough.
            if (unmapped != 0)
            {
                foreach ((ushort did, int _, IIommuDriver driver) in Bindings.Values)
                    driver.FlushIotlbRange(did, null, iova, size);
                // A stage-2 change reaches every nested domain over it: their combined translations are cached under
                // their own DIDs, for stage-1 IOVAs that cannot be told from the GPA range, so they go whole.
                foreach (IommuDomain child in NestedChildren)
                {
                    foreach ((ushort did, int _, IIommuDriver driver) in child.Bindings.Values)
                        driver.FlushIotlbRange(did, null, 0, 1UL << 63);
                }
            }
            return unmapped;
        }
    }

    /// <summary>The HPA an IOVA maps to, or 0 (kernel <c>iommu_iova_to_phys</c>). For IDENTITY, the IOVA itself.</summary>
    /// <param name="iova">The IOVA.</param>
    /// <returns>The HPA with page offset, or 0 when unmapped or BLOCKED.</returns>
    public ulong IovaToPhys(ulong iova) => Type switch
    {
        IommuDomainType.Identity => iova,
        IommuDomainType.Blocked => 0,
        _ => IsAlive ? PageTable!.IovaToPhys(iova) : 0,
    };

    /// <summary>The leaves of the page table in IOVA order (empty for BLOCKED and IDENTITY).</summary>
    /// <returns>The mappings.</returns>
    public IReadOnlyList<IoMapping> GetMappings() => IsAlive && PageTable != null ? PageTable.GetMappings() : [];

    /// <inheritdoc/>
    public override string ToString() => $"domain {Id} ({Type})";

    internal void AddBinding(IIommuHardware unit, ushort did, IIommuDriver driver)
    {
        lock (_mapLock)
        {
            Bindings[unit] = Bindings.TryGetValue(unit, out var b) ? (b.Did, b.Entries + 1, b.Driver) : (did, 1, driver);
        }
    }

    /// <summary>Drops one entry's use of the unit's DID; returns the DID when it was the last.</summary>
    internal ushort? RemoveBinding(IIommuHardware unit)
    {
        lock (_mapLock)
        {
            var b = Bindings[unit];
            if (b.Entries > 1)
            {
                Bindings[unit] = (b.Did, b.Entries - 1, b.Driver);
                return null;
            }
            Bindings.Remove(unit);
            return b.Did;
        }
    }

    internal void MarkFreed()
    {
        lock (_mapLock)
        {
            IsAlive = false;
            PageTable?.Dispose();
        }
    }

    private SecondLevelPageTable RequirePaging(string operation)
    {
        if (PageTable == null)
            Throw.Iommu(Errno.EINVAL, $"{operation}: domain {Id} is {Type.ToString().ToUpperInvariant()}, which has no page table");
        return PageTable;
    }

    /// <summary>EBUSY unless the domain is unowned or <paramref name="caller"/> is its owner.</summary>
    internal void RequireOwner(object? caller, string operation)
    {
        object? owner = Owner;
        if (owner != null && !ReferenceEquals(owner, caller))
            Throw.Iommu(Errno.EBUSY, $"{operation}: {this} belongs to {owner}; change it through its owner");
    }

    private void RequireAlive()
    {
        if (!IsAlive)
            Throw.Iommu(Errno.EINVAL, $"domain {Id} has been freed");
    }
}
