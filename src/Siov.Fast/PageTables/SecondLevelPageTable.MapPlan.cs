using System.Diagnostics;

namespace Siov.Fast.PageTables;

// The two passes of a map (Map and MapBatch), kept apart from the public surface.
//
// Pass one (PlanItem) proves each range free and counts the table pages that pass two will
// create, without writing anything. It descends only into the tables the range touches: a
// present table is scanned over the entries the range covers; a missing subtree is counted in
// closed form. Under a non-present entry that the range covers whole, every leaf has the same
// size S (iommu_pgsize's greedy rule gives the largest supported size to which the entry's start
// and its HPA are aligned, and that stays true at every multiple of S), so the entry needs
// 1 + 512 + 512^2 + ... tables down to S's level. Only the at most two partly covered entries per
// level (those holding the range's first and last byte) recurse. The cost is therefore
// proportional to the existing table entries touched plus the levels, never to the page count.
//
// Pass two (WriteItem) cannot fail: it descends once per table and writes the leaves of each
// table in one loop, linking each new (zero-filled) table page with a release store.
public sealed unsafe partial class SecondLevelPageTable
{
    // Pass-one state; touched only under _writeLock. _countedTable[l] is 1 + the region number
    // (IOVA >> LevelShift(l + 1)) of the last missing table at level l that was counted: the
    // items of a batch are planned in IOVA order, so a missing table that two neighbouring items
    // share lies on the last path of the first and the first path of the second, and is counted once.
    private readonly ulong[] _countedTable = new ulong[VtdPaging.MaxLevels + 1];
    private long _planNeeded;
    private long _planWork;
    private long _lastMapCheckWork;

    /// <summary>Entries of existing tables examined by the last map's pass one, failed or not, plus one per
    /// step down a partly covered missing entry (a missing entry covered whole costs nothing more than
    /// the entry itself): a test hook for its cost bound.</summary>
    internal long LastMapCheckWork => Volatile.Read(ref _lastMapCheckWork);

    /// <summary>One range to map. <see cref="Index"/> is the batch position, or -1 for a single map.</summary>
    private readonly record struct MapItem(ulong Iova, ulong Hpa, ulong Size, DmaProtection Protection, int Index)
    {
        /// <summary>HPA minus IOVA (modulo 2^64): the HPA of any IOVA in the range is IOVA + Delta.</summary>
        public ulong Delta => Hpa - Iova;

        /// <summary>The range's last byte (no wrap: validated below 2^AddressWidth).</summary>
        public ulong Last => Iova + Size - 1;
    }

    /// <summary>Pass-two state: the frames reserved for new tables and the empty tables that superpages replaced.</summary>
    private struct TableWriter(ulong[] frames)
    {
        public readonly ulong[] Frames = frames;
        public int NextFrame;
        public List<(ulong Table, int Level)>? Emptied;
    }

    private void BeginPlan()
    {
        Array.Clear(_countedTable);
        _planNeeded = 0;
        _planWork = 0;
    }

    private void EndPlan() => Volatile.Write(ref _lastMapCheckWork, _planWork);

    /// <summary>The leaf size pass two writes at <paramref name="va"/>: <see cref="PickPageSize"/> for what is left of the item.</summary>
    private ulong LeafSizeAt(ulong va, in MapItem item) => PickPageSize(va, va + item.Delta, item.Last - va + 1);

    /// <summary>Pass one for one item: throws EEXIST (or EINVAL for a corrupt table pointer) and adds the tables it needs to <see cref="_planNeeded"/>.</summary>
    private void PlanItem(in MapItem item) => CheckTable(_root, _levels, item.Iova, item.Last, item);

    /// <summary>Checks the part <c>[first, last]</c> of an item that a present table at <paramref name="level"/> maps.</summary>
    private void CheckTable(ulong tableHpa, int level, ulong first, ulong last, in MapItem item)
    {
        ulong* page = TableAt(tableHpa);
        ulong span = VtdPaging.EntrySpan(level);
        // IOVA of this table's entry 0; first and last always lie inside the table's range.
        ulong tableBase = first & ~((span << VtdPaging.BitsPerLevel) - 1);
        int firstIndex = VtdPaging.Index(first, level);
        int lastIndex = VtdPaging.Index(last, level);
        for (int i = firstIndex; i <= lastIndex; i++)
        {
            _planWork++;
            ulong entryFirst = tableBase + (ulong)i * span;
            ulong lo = Math.Max(first, entryFirst);
            ulong hi = Math.Min(last, entryFirst + span - 1);
            // Leaves never cross an entry whose span is at least their size, so the first leaf that
            // touches this entry starts at lo; when it is as large as the entry, it is the entry.
            ulong leaf = LeafSizeAt(lo, item);
            Debug.Assert(leaf <= span, "a leaf larger than the entry it starts in");
            ulong entry = page[i];
            if (!IsPresent(entry))
            {
                if (leaf != span)
                    _planNeeded += CountMissing(level, lo, hi, leaf, item);
                continue;
            }
            if (IsLeaf(entry, level))
                ThrowOverlap(lo, leaf, level, entry, item.Index);
            ulong child = entry & SecondLevelEntry.AddressMask;
            if (leaf == span)
            {
                // A table where a superpage should go: allowed only when nothing under it is mapped
                // (unmapping small pages leaves empty tables behind); pass two frees it.
                if (SubtreeHasLeaf(child, level - 1))
                    ThrowOverlap(lo, leaf, level, entry, item.Index);
            }
            else
            {
                CheckTable(child, level - 1, lo, hi, item);
            }
        }
    }

    /// <summary>
    /// Tables pass two creates under a non-present entry at <paramref name="level"/> for the part
    /// <c>[lo, hi]</c> of the item inside it, whose first leaf (of size <paramref name="leafAtLo"/>) is
    /// smaller than the entry. O(levels): only partly covered entries recurse, at most two per level.
    /// </summary>
    private long CountMissing(int level, ulong lo, ulong hi, ulong leafAtLo, in MapItem item)
    {
        ulong span = VtdPaging.EntrySpan(level);
        ulong entryFirst = lo & ~(span - 1);
        if (lo == entryFirst && hi == entryFirst + span - 1)
            return FullSubtreeTables(level, leafAtLo); // the item covers it whole: no other item shares these tables

        _planWork++; // one step down a partly covered missing entry
        long needed = 0;
        int childLevel = level - 1;
        ulong region = (lo >> VtdPaging.LevelShift(level)) + 1;
        if (_countedTable[childLevel] != region)
        {
            _countedTable[childLevel] = region;
            needed = 1;
        }
        ulong childSpan = VtdPaging.EntrySpan(childLevel);
        ulong firstChild = lo & ~(childSpan - 1);
        ulong firstChildHi = Math.Min(hi, firstChild + childSpan - 1);
        needed += CountMissingChild(childLevel, lo, firstChildHi, item);
        if (firstChildHi == hi)
            return needed;

        ulong lastChild = hi & ~(childSpan - 1);
        ulong middle = (lastChild - firstChild) / childSpan - 1; // children covered whole, between the two
        if (middle > 0)
        {
            ulong leaf = LeafSizeAt(firstChild + childSpan, item); // the same in each of them
            if (leaf != childSpan)
                needed += (long)middle * FullSubtreeTables(childLevel, leaf);
        }
        return needed + CountMissingChild(childLevel, lastChild, hi, item);
    }

    private long CountMissingChild(int level, ulong lo, ulong hi, in MapItem item)
    {
        ulong leaf = LeafSizeAt(lo, item);
        return leaf == VtdPaging.EntrySpan(level) ? 0 : CountMissing(level, lo, hi, leaf, item);
    }

    /// <summary>Tables under a non-present entry at <paramref name="level"/> filled whole with leaves of
    /// <paramref name="leaf"/> bytes (smaller than the entry): 1 + 512 + 512^2 + ... down to the leaf's level.</summary>
    private static long FullSubtreeTables(int level, ulong leaf)
    {
        long tables = 0, perLevel = 1;
        for (int l = level; VtdPaging.EntrySpan(l) > leaf; l--)
        {
            tables += perLevel;
            perLevel *= VtdPaging.EntriesPerTable;
        }
        return tables;
    }

    private void ThrowOverlap(ulong va, ulong pageSize, int level, ulong entry, int index)
    {
        string what = IsLeaf(entry, level)
            ? $"a {VtdPaging.EntrySpan(level) >> 10} KiB page at IOVA {Throw.Hex(va & ~(VtdPaging.EntrySpan(level) - 1))}"
            : $"smaller pages under IOVA {Throw.Hex(va)}";
        Throw.Iommu(Errno.EEXIST,
            $"map: IOVA {Throw.Hex(va)} (+{Throw.Hex(pageSize)}) overlaps an existing mapping: {what} is already mapped", index);
    }

    private bool SubtreeHasLeaf(ulong tableHpa, int level)
    {
        ulong* page = TableAt(tableHpa);
        for (int i = 0; i < VtdPaging.EntriesPerTable; i++)
        {
            _planWork++;
            ulong entry = page[i];
            if (!IsPresent(entry))
                continue;
            if (IsLeaf(entry, level) || SubtreeHasLeaf(entry & SecondLevelEntry.AddressMask, level - 1))
                return true;
        }
        return false;
    }

    /// <summary>
    /// Checks <paramref name="needed"/> new table pages against <see cref="TablePageLimit"/> (ENOSPC) and
    /// the free frames (ENOMEM), then allocates them. Nothing is allocated when a check fails.
    /// </summary>
    private ulong[] ReserveFrames(long needed, string what)
    {
        if (needed == 0)
            return [];
        int limit = TablePageLimit;
        if (needed > (long)limit - _tablePages)
            Throw.Iommu(Errno.ENOSPC,
                $"{what} needs {needed} new page-table pages, above the limit of {limit} page-table pages per domain ({_tablePages} in use)");
        int free = _memory.Frames.FreeFrames;
        if (needed > free)
            Throw.Iommu(Errno.ENOMEM,
                $"{what} needs {needed} new page-table pages but simulated memory has only {free} free frames");
        return AllocateFrames((int)needed, what);
    }

    private ulong[] AllocateFrames(int count, string what)
    {
        var frames = new ulong[count];
        for (int i = 0; i < count; i++)
        {
            if (!_memory.Frames.TryAllocate(out frames[i]))
            {
                // Only when another table took frames of the same memory since the check above.
                for (int j = i - 1; j >= 0; j--)
                    _memory.Frames.Free(frames[j]);
                Throw.Iommu(Errno.ENOMEM,
                    $"{what} needs {count} new page-table pages but simulated memory has only {i} free frames");
            }
        }
        return frames;
    }

    /// <summary>Pass two for one item: cannot fail; every check was done by <see cref="PlanItem"/>.</summary>
    private void WriteItem(in MapItem item, ref TableWriter writer) => WriteTable(_root, _levels, item.Iova, item.Last, item, ref writer);

    private void WriteTable(ulong tableHpa, int level, ulong first, ulong last, in MapItem item, ref TableWriter writer)
    {
        ulong* page = TableAt(tableHpa);
        int firstIndex = VtdPaging.Index(first, level);
        int lastIndex = VtdPaging.Index(last, level);
        if (level == 1)
        {
            // A run of 4 KiB leaves: one store each.
            ulong leafValue = LeafValue(first + item.Delta, item.Protection, superpage: false);
            for (int i = firstIndex; i <= lastIndex; i++, leafValue += VtdPaging.PageSize)
                _memory.Store(page + i, tableHpa + (ulong)i * 8, leafValue);
            return;
        }

        ulong span = VtdPaging.EntrySpan(level);
        ulong tableBase = first & ~((span << VtdPaging.BitsPerLevel) - 1);
        for (int i = firstIndex; i <= lastIndex; i++)
        {
            ulong entryFirst = tableBase + (ulong)i * span;
            ulong lo = Math.Max(first, entryFirst);
            ulong entry = page[i];
            if (LeafSizeAt(lo, item) == span)
            {
                if (IsPresent(entry))
                    (writer.Emptied ??= []).Add((entry & SecondLevelEntry.AddressMask, level - 1));
                _memory.Store(page + i, tableHpa + (ulong)i * 8, LeafValue(lo + item.Delta, item.Protection, superpage: true));
                continue;
            }
            if (!IsPresent(entry))
            {
                // The frame is zero-filled; the release store publishes it only after that.
                entry = TableValue(writer.Frames[writer.NextFrame++]);
                _memory.Store(page + i, tableHpa + (ulong)i * 8, entry);
                _tablePages++;
            }
            WriteTable(entry & SecondLevelEntry.AddressMask, level - 1, lo, Math.Min(last, entryFirst + span - 1), item, ref writer);
        }
    }

    /// <summary>Accounts the bytes mapped and frees the empty tables that superpages replaced.</summary>
    private void FinishWrite(ref TableWriter writer, ulong bytesMapped)
    {
        Debug.Assert(writer.NextFrame == writer.Frames.Length, "pass one counted a different number of tables than pass two created");
        // Defensive: a frame counted but not used goes back rather than leaking.
        for (int i = writer.NextFrame; i < writer.Frames.Length; i++)
            _memory.Frames.Free(writer.Frames[i]);
        Volatile.Write(ref _mappedBytes, _mappedBytes + bytesMapped);
        if (writer.Emptied != null)
        {
            foreach ((ulong table, int level) in writer.Emptied)
                FreeSubtree(table, level);
        }
    }
}
