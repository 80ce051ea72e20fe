namespace Siov.Fast.PageTables;

public sealed unsafe partial class SecondLevelPageTable
{
    /// <summary>
    /// Takes back a map just made (a caller rolling back a multi-table operation): removes every leaf that
    /// intersects <c>[iova, iova + size)</c>, as <see cref="Unmap"/> does, then frees each table page under the
    /// range that is left with no entry at all, so the frame allocator gets back the pages the map created.
    /// Cost is proportional to the table entries under the range.
    /// </summary>
    /// <param name="iova">First IOVA; 4 KiB aligned.</param>
    /// <param name="size">Bytes; a non-zero multiple of 4 KiB.</param>
    /// <returns>Bytes unmapped, as <see cref="Unmap"/>.</returns>
    /// <exception cref="IommuException">As <see cref="Unmap"/>.</exception>
    internal ulong UnmapAndPrune(ulong iova, ulong size)
    {
        ulong unmapped = Unmap(iova, size);
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_root == DisposedRoot, this);
            PruneEmpty(_root, _levels, iova, iova + size - 1);
        }
        return unmapped;
    }

    /// <summary>Frees the child tables of the part of <c>[first, last]</c> this table maps that hold no entry;
    /// returns true when this table itself is then empty.</summary>
    private bool PruneEmpty(ulong tableHpa, int level, ulong first, ulong last)
    {
        ulong* page = TableAt(tableHpa);
        if (level > 1)
        {
            int shift = VtdPaging.LevelShift(level);
            ulong span = 1UL << shift;
            ulong tableBase = first & ~((span << VtdPaging.BitsPerLevel) - 1);
            for (int i = VtdPaging.Index(first, level); i <= VtdPaging.Index(last, level); i++)
            {
                ulong entry = page[i];
                if (!IsPresent(entry) || IsLeaf(entry, level))
                    continue;
                ulong entryFirst = tableBase + (ulong)i * span;
                ulong child = entry & SecondLevelEntry.AddressMask;
                if (PruneEmpty(child, level - 1, Math.Max(first, entryFirst), Math.Min(last, entryFirst + span - 1)))
                {
                    _memory.Store(page + i, tableHpa + (ulong)i * 8, 0); // unlink first; the reclaimer frees it after running walks
                    FreeSubtree(child, level - 1);
                }
            }
        }
        for (int i = 0; i < VtdPaging.EntriesPerTable; i++)
        {
            if (IsPresent(page[i]))
                return false;
        }
        return true;
    }
}
