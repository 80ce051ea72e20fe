using System.Runtime.CompilerServices;
using Siov.Fast.Concurrency;
using Siov.Fast.Memory;

namespace Siov.Fast.PageTables;

/// <summary>
/// A VT-d second-level I/O page table laid out in simulated host physical memory in the
/// hardware format (VT-d spec sections 3.7 and 9.8): 3, 4 or 5 levels of 4 KiB tables,
/// leaves of 4 KiB, 2 MiB and 1 GiB. <see cref="RootHpa"/> is what a context or PASID entry
/// points to (SLPTPTR).
/// </summary>
/// <remarks>
/// <para><b>Map</b> follows the kernel's <c>iommu_map</c>: IOVA, HPA and size must be 4 KiB
/// aligned, and each step uses the largest page size that the table supports, that fits in
/// what is left, and to which both the IOVA and the HPA are aligned (<c>iommu_pgsize</c>).</para>
/// <para><b>Unmap</b> follows the Linux VT-d driver (<c>intel_iommu_unmap</c>): every leaf that
/// intersects the range is removed <i>whole</i>, so unmapping 4 KiB of a 2 MiB superpage
/// removes the whole superpage (there is no splitting). A table page is freed when the range
/// covers everything it maps (<c>dma_pte_clear_level</c>); a partly covered table stays, even
/// when it becomes empty. The return value is the total size of the leaves removed: the
/// superpage's full size in the case above, and 0 when nothing in the range was mapped (the
/// VT-d driver itself reports the requested size even over holes; the iommu core treats 0 as
/// "nothing was mapped there").</para>
/// <para><b>Concurrency.</b> Map and unmap serialize on a per-table lock. Walks take no lock:
/// every entry is read once with an acquire load, and writers publish a new table page with a
/// release store after it is zero-filled, so a walker sees either the old entry or a complete
/// new one. Table pages that unmap unlinks go to the memory's <see cref="EpochReclaimer"/>,
/// which returns them to the frame allocator only after every walk that could still read them
/// has finished (at once when no walk is running).</para>
/// <para><b>Cost.</b> A map first proves its range free and counts the table pages it needs
/// (pass one) by a descent over the tables the range touches: a missing subtree is counted in
/// closed form, so the check costs time proportional to the existing table entries the range
/// touches plus the levels, never to the number of pages. Frames and the
/// <see cref="TablePageLimit"/> quota are checked against that count before anything is
/// allocated or written; pass two then writes the leaves, descending once per table.</para>
/// <para>Every error is raised before the first write: a failed call leaves the table, and the
/// frame allocator's free count, exactly as it was.</para>
/// </remarks>
public sealed unsafe partial class SecondLevelPageTable : IDisposable
{
    // A root pointer that no memory region can contain (above 2^52): walks after Dispose fault.
    private const ulong DisposedRoot = 0xFFFF_FFFF_FFFF_F000UL;

    private readonly PhysicalMemory _memory;
    private readonly Lock _writeLock = new();
    private readonly int _levels;
    private readonly bool _firstLevel;       // writes first-level (IA-32e) entries
    private readonly bool _arm;              // writes AArch64 descriptors (stage 1 or 2)
    private readonly bool _armStage2;
    private readonly int _addressWidth;
    private readonly ulong _hpaLimit;
    private readonly ulong[] _leafSizesDescending;
    private readonly SecondLevelWalker _walker;
    private ulong _root;
    private int _tablePages;
    private ulong _mappedBytes;
    private int _tablePageLimit = int.MaxValue;
    private long _lastListWork;

    /// <summary>
    /// Creates an empty table: allocates the top-level table page from <paramref name="memory"/>.
    /// </summary>
    /// <param name="memory">The simulated memory that holds the table pages.</param>
    /// <param name="format">Levels, leaf sizes and host address width; <see cref="SecondLevelFormat.Default"/> when null.</param>
    /// <exception cref="IommuException">EINVAL for a bad format or when the memory region reaches above
    /// 2^HAW (its table pages could not be addressed); ENOMEM when no frame is free.</exception>
    public SecondLevelPageTable(PhysicalMemory memory, SecondLevelFormat? format = null)
    {
        ArgumentNullException.ThrowIfNull(memory);
        format ??= SecondLevelFormat.Default;
        format.Validate();
        if (memory.BaseHpa + memory.Size > 1UL << format.HostAddressWidth)
            Throw.Iommu(Errno.EINVAL,
                $"simulated memory ends at {Throw.Hex(memory.BaseHpa + memory.Size)}, above the {format.HostAddressWidth}-bit host address width");

        _memory = memory;
        Format = format;
        _levels = format.Levels;
        _firstLevel = format.Stage == PageTableStage.FirstLevel;
        _arm = format.Stage is PageTableStage.ArmStage1 or PageTableStage.ArmStage2;
        _armStage2 = format.Stage == PageTableStage.ArmStage2;
        _addressWidth = format.AddressWidth;
        _hpaLimit = 1UL << format.HostAddressWidth;
        _leafSizesDescending = [.. new[] { PageSizes.Size1G, PageSizes.Size2M, PageSizes.Size4K }
            .Where(s => (format.PageSizes & s) != 0).Select(s => (ulong)s)];
        _walker = new SecondLevelWalker(memory, format.PageSizes, format.HostAddressWidth);

        _root = memory.Frames.Allocate();
        _tablePages = 1;
    }

    /// <summary>Whether the domain that owns the table tracks dirty pages (<c>set_dirty_tracking</c>): a driver writes
    /// the entries that point at it with the hardware's A/D updates on (VT-d: SLADE in the PASID entry). Set by
    /// <see cref="Iommu.IommuDomain.SetDirtyTracking(bool)"/>.</summary>
    public bool DirtyTracking { get; internal set; }

    /// <summary>The table's format (levels, leaf sizes, HAW).</summary>
    public SecondLevelFormat Format { get; }

    /// <summary>The memory the table pages live in.</summary>
    public PhysicalMemory Memory => _memory;

    /// <summary>Number of levels (3, 4 or 5).</summary>
    public int Levels => _levels;

    /// <summary>IOVA width in bits (39, 48 or 57): IOVAs at or above 2^AddressWidth cannot be mapped.</summary>
    public int AddressWidth => _addressWidth;

    /// <summary>HPA of the top-level table page (the SLPTPTR a context or PASID entry holds).</summary>
    public ulong RootHpa => Volatile.Read(ref _root);

    /// <summary>Table pages in use, the top-level page included (each 4 KiB).</summary>
    public int TablePages => Volatile.Read(ref _tablePages);

    /// <summary>Bytes currently mapped (sum of leaf sizes).</summary>
    public ulong MappedBytes => Volatile.Read(ref _mappedBytes);

    /// <summary>
    /// The most 4 KiB table pages the table may hold, the top-level page included (a per-domain
    /// quota); default <see cref="int.MaxValue"/> (no limit beyond free memory). A
    /// <see cref="Map"/> or <see cref="MapBatch"/> that would take <see cref="TablePages"/> above it
    /// fails with ENOSPC before anything changes. The count checked is the number of new pages the
    /// call allocates, before any empty table that a new superpage replaces is freed. A value below
    /// the current <see cref="TablePages"/> frees nothing: it only stops growth (maps that need no
    /// new table page still succeed).
    /// </summary>
    /// <exception cref="IommuException">EINVAL when set to a negative value.</exception>
    public int TablePageLimit
    {
        get => Volatile.Read(ref _tablePageLimit);
        set
        {
            if (value < 0)
                Throw.Iommu(Errno.EINVAL, $"table page limit {value} is negative");
            Volatile.Write(ref _tablePageLimit, value);
        }
    }

    /// <summary>Table entries examined by the last <see cref="GetMappings(ulong, int)"/> (a test hook for its cost bound).</summary>
    internal long LastListWork => Volatile.Read(ref _lastListWork);

    /// <summary>
    /// Maps <c>[iova, iova + size)</c> to <c>[hpa, hpa + size)</c> with the given permissions,
    /// using the largest leaves that alignment allows (kernel <c>iommu_map</c>).
    /// </summary>
    /// <param name="iova">First IOVA; 4 KiB aligned.</param>
    /// <param name="hpa">First HPA; 4 KiB aligned.</param>
    /// <param name="size">Bytes to map; a non-zero multiple of 4 KiB.</param>
    /// <param name="protection">Read, Write or both.</param>
    /// <exception cref="IommuException">
    /// EINVAL: zero size, IOVA/HPA/size not 4 KiB aligned, no R/W in the protection, or HPA range
    /// reaching 2^HAW. ERANGE: IOVA range reaching 2^AddressWidth. EEXIST: some part of the range
    /// is already mapped (the message names the first conflicting leaf in IOVA order). ENOSPC: the
    /// new table pages would take <see cref="TablePages"/> above <see cref="TablePageLimit"/>.
    /// ENOMEM: not enough free frames for the new table pages. The table and the frame allocator's
    /// free count are unchanged after any of them; the checks cost time proportional to the
    /// existing table entries the range touches, not to its size.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The table was disposed.</exception>
    public void Map(ulong iova, ulong hpa, ulong size, DmaProtection protection)
    {
        ValidateMap(iova, hpa, size, protection, -1);
        var item = new MapItem(iova, hpa, size, protection, -1);
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_root == DisposedRoot, this);
            BeginPlan();
            try
            {
                PlanItem(item);
            }
            finally
            {
                EndPlan();
            }
            ulong[] frames = ReserveFrames(_planNeeded, "map");
            var writer = new TableWriter(frames);
            WriteItem(item, ref writer);
            FinishWrite(ref writer, size);
        }
    }

    /// <summary>
    /// Maps every item of <paramref name="mappings"/>, all or nothing, under one hold of the write
    /// lock: the same rules as <see cref="Map"/> for each item, and items may not overlap one
    /// another. Translations may see the items appear one after the other while the call runs (as
    /// with the leaves of one <see cref="Map"/>), but a failed call writes nothing at all. The
    /// kernel's <c>iommu_map_sg</c> gives the same all-or-nothing result by unmapping what it mapped
    /// on failure; here every check (and the frame count for the whole batch) comes first instead.
    /// </summary>
    /// <param name="mappings">The mappings: each <see cref="IoMapping.Iova"/>, <see cref="IoMapping.Hpa"/> and
    /// <see cref="IoMapping.Size"/> 4 KiB aligned, the size non-zero, <see cref="IoMapping.Protection"/> Read, Write
    /// or both; any order. An empty span maps nothing. Memory used is proportional to the count.</param>
    /// <exception cref="IommuException">
    /// Checked in this order, before anything is allocated or written. For an item, with
    /// <see cref="IommuException.Index"/> set and a message starting <c>CODE: mappings[i]: </c>:
    /// EINVAL and ERANGE as for <see cref="Map"/> (the lowest bad index is reported); EEXIST when
    /// two items overlap (the message names both indexes, <see cref="IommuException.Index"/> is the
    /// higher one); EEXIST when an item overlaps an existing mapping (the lowest such IOVA is
    /// reported). For the whole batch, with no index: ENOSPC when the new table pages of all
    /// items together (tables that items share counted once) would take <see cref="TablePages"/>
    /// above <see cref="TablePageLimit"/>; ENOMEM when there are not that many free frames. The
    /// table and the frame allocator's free count are unchanged after any of them.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The table was disposed.</exception>
    public void MapBatch(ReadOnlySpan<IoMapping> mappings)
    {
        for (int i = 0; i < mappings.Length; i++)
        {
            IoMapping m = mappings[i];
            ValidateMap(m.Iova, m.Hpa, m.Size, m.Protection, i);
        }
        (ulong Iova, int Index)[] order = SortedByIova(mappings);
        ulong totalBytes = 0;
        for (int k = 0; k < order.Length; k++)
        {
            IoMapping current = mappings[order[k].Index];
            totalBytes += current.Size; // no wrap: the items are disjoint and below 2^AddressWidth
            if (k == 0)
                continue;
            IoMapping previous = mappings[order[k - 1].Index];
            if (current.Iova < previous.Iova + previous.Size)
            {
                int low = Math.Min(order[k - 1].Index, order[k].Index), high = Math.Max(order[k - 1].Index, order[k].Index);
                IoMapping a = mappings[low], b = mappings[high];
                Throw.Iommu(Errno.EEXIST,
                    $"map: [{Throw.Hex(b.Iova)}, +{Throw.Hex(b.Size)}) overlaps mappings[{low}] [{Throw.Hex(a.Iova)}, +{Throw.Hex(a.Size)}) of the same batch",
                    high);
            }
        }

        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_root == DisposedRoot, this);
            if (order.Length == 0)
                return;
            BeginPlan();
            try
            {
                foreach ((ulong _, int index) in order)
                {
                    IoMapping m = mappings[index];
                    PlanItem(new MapItem(m.Iova, m.Hpa, m.Size, m.Protection, index));
                }
            }
            finally
            {
                EndPlan();
            }
            ulong[] frames = ReserveFrames(_planNeeded, $"map batch of {order.Length} mappings");
            var writer = new TableWriter(frames);
            foreach ((ulong _, int index) in order)
            {
                IoMapping m = mappings[index];
                WriteItem(new MapItem(m.Iova, m.Hpa, m.Size, m.Protection, index), ref writer);
            }
            FinishWrite(ref writer, totalBytes);
        }
    }

    /// <summary>
    /// Removes every leaf that intersects <c>[iova, iova + size)</c>, whole (VT-d driver
    /// semantics: a partly covered superpage is unmapped entirely), and frees the table pages
    /// that the range covers completely.
    /// </summary>
    /// <param name="iova">First IOVA; 4 KiB aligned.</param>
    /// <param name="size">Bytes; a non-zero multiple of 4 KiB.</param>
    /// <returns>Bytes unmapped: the total size of the leaves removed (may exceed <paramref name="size"/>
    /// when a superpage was partly covered; 0 when nothing was mapped there).</returns>
    /// <exception cref="IommuException">EINVAL: zero size or unaligned IOVA/size. ERANGE: the range
    /// reaches 2^AddressWidth. The table is unchanged after either.</exception>
    /// <exception cref="ObjectDisposedException">The table was disposed.</exception>
    public ulong Unmap(ulong iova, ulong size)
    {
        if (size == 0)
            Throw.Iommu(Errno.EINVAL, $"unmap of IOVA {Throw.Hex(iova)}: size is zero");
        if ((iova & (VtdPaging.PageSize - 1)) != 0)
            Throw.Iommu(Errno.EINVAL, $"unmap: IOVA {Throw.Hex(iova)} is not 4 KiB aligned");
        if ((size & (VtdPaging.PageSize - 1)) != 0)
            Throw.Iommu(Errno.EINVAL, $"unmap: size {Throw.Hex(size)} is not a multiple of 4 KiB");
        CheckIovaRange(iova, size);
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_root == DisposedRoot, this);
            ulong unmapped = ClearRange(_root, _levels, iova, iova + size - 1);
            Volatile.Write(ref _mappedBytes, _mappedBytes - unmapped);
            return unmapped;
        }
    }

    /// <summary>
    /// Walks the table for <paramref name="iova"/> and checks <paramref name="access"/> against the
    /// effective permissions, as the remapping hardware does on an IOTLB miss. Never throws,
    /// never allocates, takes no lock.
    /// </summary>
    /// <param name="iova">The I/O virtual address (any alignment).</param>
    /// <param name="access">The access to check; <see cref="DmaAccess.None"/> checks presence only.</param>
    /// <returns>The leaf, or a fault with the level and reason.</returns>
    public WalkResult Walk(ulong iova, DmaAccess access = DmaAccess.None)
    {
        // Protected: pages that a concurrent unmap unlinks stay allocated until this walk is done.
        using EpochScope scope = _memory.Reclaimer.Protect();
        return _arm ? ArmWalk(iova, access) : _walker.Walk(Volatile.Read(ref _root), _levels, iova, access);
    }

    /// <summary>The HPA <paramref name="iova"/> maps to, or 0 when it is not mapped (kernel <c>iommu_iova_to_phys</c>).</summary>
    /// <param name="iova">The I/O virtual address.</param>
    /// <returns>The HPA with the page offset, or 0.</returns>
    public ulong IovaToPhys(ulong iova)
    {
        WalkResult walk = Walk(iova);
        return walk.IsSuccess ? walk.Hpa : 0;
    }

    /// <summary>Lists every leaf in IOVA order (a consistent snapshot: taken under the writer lock).</summary>
    /// <returns>The leaves; adjacent leaves are not merged.</returns>
    public IReadOnlyList<IoMapping> GetMappings() => GetMappings(0, int.MaxValue);

    /// <summary>
    /// Lists up to <paramref name="maxCount"/> leaves, in IOVA order, starting with the first leaf
    /// that reaches <paramref name="startIova"/> or beyond: every leaf with
    /// <c>Iova + Size &gt; startIova</c>. A superpage that contains <paramref name="startIova"/> but
    /// starts below it is included (it is the leaf that translates <paramref name="startIova"/>); to
    /// page through a table, pass the end of the last leaf returned (<c>Iova + Size</c>) as the next
    /// start. A consistent snapshot, taken under the writer lock. The cost is proportional to the
    /// entries visited: subtrees entirely below <paramref name="startIova"/> are skipped, and the
    /// walk stops as soon as <paramref name="maxCount"/> leaves are found.
    /// </summary>
    /// <param name="startIova">The lowest IOVA of interest (any alignment); at or above 2^AddressWidth the list is empty.</param>
    /// <param name="maxCount">The most leaves to return; 0 returns an empty list.</param>
    /// <returns>The leaves; adjacent leaves are not merged. Empty after <see cref="Dispose"/>.</returns>
    /// <exception cref="IommuException">EINVAL when <paramref name="maxCount"/> is negative.</exception>
    public IReadOnlyList<IoMapping> GetMappings(ulong startIova, int maxCount)
    {
        if (maxCount < 0)
            Throw.Iommu(Errno.EINVAL, $"list mappings: maxCount {maxCount} is negative");
        var list = new List<IoMapping>(Math.Min(maxCount, 256));
        if (maxCount == 0)
            return list;
        lock (_writeLock)
        {
            long work = 0;
            if (_root != DisposedRoot && startIova < 1UL << _addressWidth)
                CollectLeavesFrom(_root, _levels, 0, startIova, maxCount, list, ref work);
            Volatile.Write(ref _lastListWork, work);
        }
        return list;
    }

    /// <summary>
    /// The io-pgtable's <c>read_and_clear_dirty</c> for dirty tracking: the leaves in <c>[iova, iova + size)</c> whose D
    /// bit is set (second level: bit 9, set by the hardware under SLADE; first level: bit 6), clearing D unless
    /// <paramref name="noClear"/> (iommufd's <c>IOMMU_DIRTY_NO_CLEAR</c>). Each D is cleared by a compare-and-swap, so a
    /// write the hardware records meanwhile is not lost. The caller then flushes the IOTLB for the range (the kernel's
    /// <c>iotlb_sync</c> after a clear): an entry cached with write permission would let writes pass without setting D.
    /// Visits only the tables that exist under the range.
    /// </summary>
    /// <param name="iova">First IOVA (4 KiB aligned).</param>
    /// <param name="size">Bytes (a multiple of 4 KiB, at least one page).</param>
    /// <param name="noClear">Report without clearing.</param>
    /// <returns>The dirty leaves, in IOVA order (a superpage is reported whole).</returns>
    /// <exception cref="IommuException">EINVAL for an unaligned or empty range; ERANGE beyond the address width.</exception>
    public IReadOnlyList<IoMapping> ReadAndClearDirty(ulong iova, ulong size, bool noClear = false)
    {
        if (size == 0 || ((iova | size) & (VtdPaging.PageSize - 1)) != 0)
            Throw.Iommu(Errno.EINVAL, $"dirty bitmap of [{Throw.Hex(iova)}, +{Throw.Hex(size)}): the range must be whole 4 KiB pages, at least one");
        CheckIovaRange(iova, size);
        var dirty = new List<IoMapping>();
        if (_arm)
            Throw.Iommu(Errno.EOPNOTSUPP, "dirty tracking of AArch64 tables (DBM) is not modelled");
        ulong dirtyBit = _firstLevel ? FirstLevelEntry.Dirty.Mask : SecondLevelEntry.DirtyBit;
        lock (_writeLock)
        {
            if (_root != DisposedRoot)
                CollectDirty(_root, _levels, 0, iova, iova + size - 1, dirtyBit, noClear, dirty);
        }
        return dirty;
    }

    private void CollectDirty(ulong tableHpa, int level, ulong tableBase, ulong first, ulong last, ulong dirtyBit, bool noClear, List<IoMapping> into)
    {
        ulong* page = TableAt(tableHpa);
        ulong span = VtdPaging.EntrySpan(level);
        int from = first > tableBase ? VtdPaging.Index(first, level) : 0;
        for (int i = from; i < VtdPaging.EntriesPerTable; i++)
        {
            ulong va = tableBase + (ulong)i * span;
            if (va > last)
                return;
            ref ulong slot = ref page[i];
            ulong entry = Volatile.Read(ref slot);
            if (!IsPresent(entry))
                continue;
            if (!IsLeaf(entry, level))
            {
                CollectDirty(entry & SecondLevelEntry.AddressMask, level - 1, va, first, last, dirtyBit, noClear, into);
                continue;
            }
            if ((entry & dirtyBit) == 0)
                continue;
            into.Add(new IoMapping(va, entry & SecondLevelEntry.AddressMask, span, ProtectionOf(entry)));
            if (!noClear)
            {
                // The hardware may set A meanwhile: retry the clear on that entry until it sticks.
                while (Interlocked.CompareExchange(ref slot, entry & ~dirtyBit, entry) is var seen && seen != entry && (seen & dirtyBit) != 0)
                    entry = seen;
            }
        }
    }

    /// <summary>Frees every table page, the top-level one included. Walks afterwards fault with
    /// <see cref="WalkStatus.InvalidTablePointer"/>; map and unmap throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (_writeLock)
        {
            if (_root == DisposedRoot)
                return;
            ulong root = _root;
            Volatile.Write(ref _root, DisposedRoot);
            FreeSubtree(root, _levels);
            _mappedBytes = 0;
        }
    }

    /// <summary>The argument checks of a map; <paramref name="index"/> is the batch position, or -1 for <see cref="Map"/>.</summary>
    private void ValidateMap(ulong iova, ulong hpa, ulong size, DmaProtection protection, int index)
    {
        if (size == 0)
            Throw.Iommu(Errno.EINVAL, $"map of IOVA {Throw.Hex(iova)}: size is zero", index);
        if ((protection & ~DmaProtection.ReadWrite) != 0 || (protection & DmaProtection.ReadWrite) == 0)
            Throw.Iommu(Errno.EINVAL, $"map of IOVA {Throw.Hex(iova)}: protection {(int)protection} must be Read, Write or both", index);
        if ((iova & (VtdPaging.PageSize - 1)) != 0)
            Throw.Iommu(Errno.EINVAL, $"map: IOVA {Throw.Hex(iova)} is not 4 KiB aligned", index);
        if ((hpa & (VtdPaging.PageSize - 1)) != 0)
            Throw.Iommu(Errno.EINVAL, $"map: HPA {Throw.Hex(hpa)} is not 4 KiB aligned", index);
        if ((size & (VtdPaging.PageSize - 1)) != 0)
            Throw.Iommu(Errno.EINVAL, $"map: size {Throw.Hex(size)} is not a multiple of 4 KiB", index);
        CheckIovaRange(iova, size, index);
        if (hpa >= _hpaLimit || size > _hpaLimit - hpa)
            Throw.Iommu(Errno.EINVAL,
                $"map: HPA range [{Throw.Hex(hpa)}, +{Throw.Hex(size)}) reaches beyond the {Format.HostAddressWidth}-bit host address width",
                index);
    }

    private void CheckIovaRange(ulong iova, ulong size, int index = -1)
    {
        ulong limit = 1UL << _addressWidth;
        if (iova >= limit || size > limit - iova)
            Throw.Iommu(Errno.ERANGE,
                $"IOVA range [{Throw.Hex(iova)}, +{Throw.Hex(size)}) reaches beyond the {_addressWidth}-bit address width", index);
    }

    /// <summary>The batch's (IOVA, index) pairs sorted by IOVA, then index.</summary>
    private static (ulong Iova, int Index)[] SortedByIova(ReadOnlySpan<IoMapping> mappings)
    {
        var order = new (ulong Iova, int Index)[mappings.Length];
        bool sorted = true;
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = (mappings[i].Iova, i);
            if (i > 0 && order[i].Iova < order[i - 1].Iova)
                sorted = false;
        }
        if (!sorted)
            Array.Sort(order, static (x, y) => x.Iova != y.Iova ? x.Iova.CompareTo(y.Iova) : x.Index.CompareTo(y.Index));
        return order;
    }

    /// <summary>The kernel's iommu_pgsize: the largest supported size that fits and that IOVA and HPA are aligned to.</summary>
    private ulong PickPageSize(ulong iova, ulong hpa, ulong remaining)
    {
        ulong alignment = iova | hpa;
        foreach (ulong size in _leafSizesDescending)
        {
            if (size <= remaining && (alignment & (size - 1)) == 0)
                return size;
        }
        return VtdPaging.PageSize; // unreachable: 4 KiB always fits an aligned, non-empty range
    }

    private ulong* TableAt(ulong tableHpa)
    {
        ulong* page = _memory.TablePointer(tableHpa);
        if (page == null)
            Throw.Iommu(Errno.EINVAL, $"corrupt page table: an entry points to {Throw.Hex(tableHpa)}, outside simulated memory");
        return page;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    // Bits 1:0 are R and W in a second-level entry, P and R/W in a first-level one: present and the protection decode
    // the same way in both formats. An AArch64 descriptor is valid by bit 0.
    private bool IsPresent(ulong entry) => _arm ? (entry & 1) != 0 : (entry & (SecondLevelEntry.ReadBit | SecondLevelEntry.WriteBit)) != 0;

    /// <summary>A leaf in the table's format: a first-level leaf is P | U/S, with R/W for a write mapping; an AArch64 one
    /// a page (level 1 here: bits 1:0 = 11) or a block (01) with AF and the stage's permissions.</summary>
    private ulong LeafValue(ulong pageHpa, DmaProtection protection, bool superpage) =>
        _arm
            ? (_armStage2
                ? LpaeEntry.Stage2Leaf(pageHpa, superpage ? 2 : 3, protection)
                : LpaeEntry.Stage1Leaf(pageHpa, superpage ? 2 : 3, (protection & DmaProtection.Write) != 0))
        : _firstLevel
            ? (pageHpa & SecondLevelEntry.AddressMask) | FirstLevelEntry.Present.Mask | FirstLevelEntry.UserSupervisor.Mask
                | ((protection & DmaProtection.Write) != 0 ? FirstLevelEntry.ReadWrite.Mask : 0) | (superpage ? FirstLevelEntry.PageSize.Mask : 0)
            : SecondLevelEntry.Leaf(pageHpa, protection, superpage).Value;

    /// <summary>A table link in the table's format (first level: P | R/W | U/S, so the leaf decides; AArch64: bits 1:0 = 11).</summary>
    private ulong TableValue(ulong tableHpa) =>
        _arm ? LpaeEntry.Table(tableHpa)
        : _firstLevel ? (tableHpa & SecondLevelEntry.AddressMask) | FirstLevelEntry.TableLinkBits : SecondLevelEntry.Table(tableHpa).Value;

    /// <summary>Whether a present entry at <paramref name="level"/> is a leaf: always at level 1; above, PS (VT-d) or
    /// bits 1:0 = 01, a block (AArch64).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsLeaf(ulong entry, int level) =>
        level == 1 || (_arm ? (entry & 2) == 0 : (entry & SecondLevelEntry.PageSizeBit) != 0);

    /// <summary>The read/write permissions a present leaf grants.</summary>
    private DmaProtection ProtectionOf(ulong entry) =>
        !_arm ? (DmaProtection)(entry & 3)
        : _armStage2 ? (DmaProtection)LpaeEntry.Stage2AccessPermissions.Get(entry)
        : DmaProtection.Read | ((LpaeEntry.AccessPermissions.Get(entry) & 2) == 0 ? DmaProtection.Write : 0);

    /// <summary>A walk of an AArch64 table (its leaf, as an SMMU with AFFD clear and every permission given sees it), in
    /// the <see cref="WalkResult"/> shape (levels numbered as VT-d's: 1 is the 4 KiB leaf).</summary>
    private WalkResult ArmWalk(ulong iova, DmaAccess access)
    {
        if ((iova >> _addressWidth) != 0)
            return new WalkResult(WalkStatus.AddressBeyondWidth, _levels, 0, 0, DmaProtection.None, 0);
        var walker = new LpaeWalker(_memory);
        var stage = new LpaeStage(Volatile.Read(ref _root), _addressWidth, 4 - _levels, 48);
        bool write = (access & DmaAccess.Write) != 0;
        LpaeWalk walk = _armStage2
            ? walker.WalkStage2(stage, iova, write, execute: false)
            : walker.WalkStage1(stage, iova, new LpaeWalker.Access(write, Privileged: false, Execute: false), default, nested: false);
        int level = 4 - walk.Level;
        if (walk.IsSuccess)
        {
            ulong size = 1UL << walk.PageShift;
            bool readDenied = (access & DmaAccess.Read) != 0 && (walk.Permissions & DmaProtection.Read) == 0;
            return new WalkResult(readDenied ? WalkStatus.ReadDenied : WalkStatus.Success, level, walk.OutputPage | (iova & (size - 1)), size,
                walk.Permissions, 0);
        }
        WalkStatus status = walk.Status switch
        {
            LpaeWalkStatus.Permission => write ? WalkStatus.WriteDenied : WalkStatus.ReadDenied,
            LpaeWalkStatus.ExternalAbort => WalkStatus.InvalidTablePointer,
            LpaeWalkStatus.AddressSize => WalkStatus.ReservedBitsSet,
            _ => WalkStatus.NotPresent,
        };
        return new WalkResult(status, level, 0, 0, DmaProtection.None, 0);
    }

    /// <summary>Clears the part of <c>[first, last]</c> that the table at <paramref name="level"/> maps; returns leaf bytes removed.</summary>
    private ulong ClearRange(ulong tableHpa, int level, ulong first, ulong last)
    {
        ulong* page = TableAt(tableHpa);
        int shift = VtdPaging.LevelShift(level);
        ulong span = 1UL << shift;
        // IOVA of this table's entry 0; first and last always lie inside the table's range.
        ulong tableBase = first & ~((span << VtdPaging.BitsPerLevel) - 1);
        int firstIndex = VtdPaging.Index(first, level);
        int lastIndex = VtdPaging.Index(last, level);
        ulong unmapped = 0;
        for (int i = firstIndex; i <= lastIndex; i++)
        {
            ulong entry = page[i];
            if (!IsPresent(entry))
                continue;
            if (IsLeaf(entry, level))
            {
                _memory.Store(page + i, tableHpa + (ulong)i * 8, 0);
                unmapped += span;
                continue;
            }
            ulong entryFirst = tableBase + (ulong)i * span;
            ulong entryLast = entryFirst + span - 1;
            ulong child = entry & SecondLevelEntry.AddressMask;
            if (first <= entryFirst && last >= entryLast)
            {
                // The range covers the whole child table: unlink it first, then free it.
                _memory.Store(page + i, tableHpa + (ulong)i * 8, 0);
                unmapped += FreeSubtree(child, level - 1);
            }
            else
            {
                unmapped += ClearRange(child, level - 1, Math.Max(first, entryFirst), Math.Min(last, entryLast));
            }
        }
        return unmapped;
    }

    /// <summary>Frees a table page and every table under it; returns the leaf bytes it mapped.
    /// A pointer outside memory (only a forged entry can hold one) is skipped, so Dispose never throws.</summary>
    private ulong FreeSubtree(ulong tableHpa, int level)
    {
        ulong* page = _memory.TablePointer(tableHpa);
        if (page == null || !_memory.Frames.IsAllocated(tableHpa))
            return 0;
        ulong leafBytes = 0;
        ulong span = VtdPaging.EntrySpan(level);
        for (int i = 0; i < VtdPaging.EntriesPerTable; i++)
        {
            ulong entry = page[i];
            if (!IsPresent(entry))
                continue;
            leafBytes += IsLeaf(entry, level) ? span : FreeSubtree(entry & SecondLevelEntry.AddressMask, level - 1);
        }
        // Unlinked already; the reclaimer frees it once no walk can still be reading it.
        _memory.Reclaimer.Retire(tableHpa);
        _tablePages--;
        return leafBytes;
    }

    /// <summary>Appends the leaves under a table that end above <paramref name="start"/>, in IOVA order,
    /// until <paramref name="into"/> holds <paramref name="max"/>; returns true once it does.</summary>
    private bool CollectLeavesFrom(ulong tableHpa, int level, ulong tableBase, ulong start, int max, List<IoMapping> into, ref long work)
    {
        ulong* page = TableAt(tableHpa);
        ulong span = VtdPaging.EntrySpan(level);
        // Entries below the one that holds start map nothing at or above it: skip them. When the
        // table starts above start (an entry after start's), every entry counts.
        int first = start > tableBase ? VtdPaging.Index(start, level) : 0;
        for (int i = first; i < VtdPaging.EntriesPerTable; i++)
        {
            work++;
            ulong entry = page[i];
            if (!IsPresent(entry))
                continue;
            ulong va = tableBase + (ulong)i * span;
            if (IsLeaf(entry, level))
            {
                into.Add(new IoMapping(va, entry & SecondLevelEntry.AddressMask & (_arm ? LpaeEntry.AddressMask : ulong.MaxValue), span, ProtectionOf(entry)));
                if (into.Count == max)
                    return true;
            }
            else if (CollectLeavesFrom(entry & SecondLevelEntry.AddressMask, level - 1, va, start, max, into, ref work))
            {
                return true;
            }
        }
        return false;
    }
}
