using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using Siov.Fast.Memory;

namespace Siov.Fast.PageTables;

/// <summary>
/// Walks VT-d second-level tables straight from simulated memory, starting at any root
/// pointer: what the remapping hardware does on an IOTLB miss (VT-d spec section 3.7). It holds
/// the reserved-bit masks for one host address width and set of supported leaf sizes; the
/// level count comes with each walk, from the context or PASID entry that holds the root.
/// </summary>
/// <remarks>The caller protects the walk against page reclamation (an
/// <see cref="Concurrency.EpochReclaimer"/> scope); the walker itself takes no lock, never
/// allocates and never throws.</remarks>
internal sealed unsafe class SecondLevelWalker
{
    private readonly PhysicalMemory _memory;
    // Reserved-bit masks indexed [level * 2 + PS]; see SecondLevelEntry for the layout.
    private readonly ulong[] _reservedMasks = new ulong[(VtdPaging.MaxLevels + 1) * 2];

    public SecondLevelWalker(PhysicalMemory memory, PageSizes pageSizes, int hostAddressWidth)
    {
        _memory = memory;
        // Address bits 51:HAW, bit 11 and bit 62 are reserved at every level.
        ulong aboveHaw = SecondLevelEntry.AddressMask & ~((1UL << hostAddressWidth) - 1);
        ulong common = aboveHaw | SecondLevelEntry.Reserved11 | SecondLevelEntry.Reserved62;
        for (int level = 1; level <= VtdPaging.MaxLevels; level++)
        {
            _reservedMasks[level << 1] = common;
            _reservedMasks[(level << 1) | 1] = level switch
            {
                1 => common, // bit 7 is ignored in an SL-PTE
                // A superpage leaf: the address bits below its size are reserved, and PS itself
                // is reserved where the unit does not support that size (CAP_REG.SLLPS).
                2 => (pageSizes & PageSizes.Size2M) != 0
                    ? common | ((VtdPaging.EntrySpan(2) - 1) & SecondLevelEntry.AddressMask)
                    : common | SecondLevelEntry.PageSizeBit,
                3 => (pageSizes & PageSizes.Size1G) != 0
                    ? common | ((VtdPaging.EntrySpan(3) - 1) & SecondLevelEntry.AddressMask)
                    : common | SecondLevelEntry.PageSizeBit,
                _ => common | SecondLevelEntry.PageSizeBit, // PS is reserved in SL-PML4E and SL-PML5E
            };
        }
    }

    public PhysicalMemory Memory => _memory;

    /// <summary>
    /// Follows the table pointers for <paramref name="iova"/> through the levels that are already
    /// cached and prefetches the entry where it stops (usually the leaf): the one load of a walk
    /// that misses the processor caches. A hint only: no check, no result; pages a concurrent
    /// unmap frees are still simulated memory, so a stale pointer costs a useless prefetch at worst.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchWalk(ulong root, int levels, ulong iova)
    {
        if (!Sse.IsSupported)
            return;
        ulong table = root;
        for (int level = levels; level >= 1; level--)
        {
            ulong* page = _memory.TablePointer(table);
            if (page == null)
                return;
            ulong* entry = page + ((iova >> VtdPaging.LevelShift(level)) & (VtdPaging.EntriesPerTable - 1));
            if (level <= 2)
            {
                // Level 2 holds 2 MiB leaves or level-1 pointers: prefetch here when the level-1
                // table is the one that would miss.
                ulong value = level == 2 ? *entry : 0;
                if (level == 1 || (value & SecondLevelEntry.PageSizeBit) != 0
                    || (value & (SecondLevelEntry.ReadBit | SecondLevelEntry.WriteBit)) == 0)
                {
                    Sse.Prefetch0(entry);
                    return;
                }
                table = value & SecondLevelEntry.AddressMask;
                continue;
            }
            ulong next = *entry;
            if ((next & (SecondLevelEntry.ReadBit | SecondLevelEntry.WriteBit)) == 0 || (next & SecondLevelEntry.PageSizeBit) != 0)
            {
                Sse.Prefetch0(entry);
                return;
            }
            table = next & SecondLevelEntry.AddressMask;
        }
    }

    /// <summary>Walks the table rooted at <paramref name="root"/> with <paramref name="levels"/> levels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public WalkResult Walk(ulong root, int levels, ulong iova, DmaAccess access)
    {
        if ((iova >> VtdPaging.AddressWidth(levels)) != 0)
            return new WalkResult(WalkStatus.AddressBeyondWidth, levels, 0, 0, DmaProtection.None, 0);

        ulong table = root;
        ulong permissions = SecondLevelEntry.ReadBit | SecondLevelEntry.WriteBit;
        for (int level = levels; ; level--)
        {
            ulong* page = _memory.TablePointer(table);
            if (page == null)
                return new WalkResult(WalkStatus.InvalidTablePointer, level, 0, 0, DmaProtection.None, table);

            int shift = VtdPaging.LevelShift(level);
            // Each entry is read once; a writer's release store makes the table it points to complete.
            ulong entry = Volatile.Read(ref page[(iova >> shift) & (VtdPaging.EntriesPerTable - 1)]);
            if ((entry & (SecondLevelEntry.ReadBit | SecondLevelEntry.WriteBit)) == 0)
                return new WalkResult(WalkStatus.NotPresent, level, 0, 0, DmaProtection.None, entry);

            bool pageSize = (entry & SecondLevelEntry.PageSizeBit) != 0;
            if ((entry & _reservedMasks[(level << 1) | (pageSize ? 1 : 0)]) != 0)
                return new WalkResult(WalkStatus.ReservedBitsSet, level, 0, 0, DmaProtection.None, entry);

            permissions &= entry;
            if (level == 1 || pageSize)
            {
                ulong span = 1UL << shift;
                ulong hpa = (entry & SecondLevelEntry.AddressMask) | (iova & (span - 1));
                var granted = (DmaProtection)permissions;
                WalkStatus status = ((int)access & ~(int)granted) switch
                {
                    0 => WalkStatus.Success,
                    var missing when (missing & (int)DmaAccess.Read) != 0 => WalkStatus.ReadDenied,
                    _ => WalkStatus.WriteDenied,
                };
                return new WalkResult(status, level, hpa, span, granted, entry);
            }
            table = entry & SecondLevelEntry.AddressMask;
        }
    }

    /// <summary>
    /// Dirty tracking (SLADE, VT-d spec 3.7.3): sets A in every entry the walk of <paramref name="iova"/> uses and, for a
    /// write, D in the leaf, each by a compare-and-swap that leaves a concurrently changed entry to the walk that
    /// follows. Called after a successful walk; returns whether the leaf is dirty afterwards.
    /// </summary>
    public bool SetAccessedDirty(ulong root, int levels, ulong iova, bool write)
    {
        ulong table = root;
        for (int level = levels; level >= 1; level--)
        {
            ulong* page = _memory.TablePointer(table);
            if (page == null)
                return false;
            ref ulong slot = ref page[(iova >> VtdPaging.LevelShift(level)) & (VtdPaging.EntriesPerTable - 1)];
            ulong entry = Volatile.Read(ref slot);
            if ((entry & (SecondLevelEntry.ReadBit | SecondLevelEntry.WriteBit)) == 0)
                return false;
            bool leaf = level == 1 || (entry & SecondLevelEntry.PageSizeBit) != 0;
            ulong wanted = entry | SecondLevelEntry.AccessedBit | (leaf && write ? SecondLevelEntry.DirtyBit : 0);
            if (wanted != entry && Interlocked.CompareExchange(ref slot, wanted, entry) == entry)
                entry = wanted;
            if (leaf)
                return (entry & SecondLevelEntry.DirtyBit) != 0;
            table = entry & SecondLevelEntry.AddressMask;
        }
        return false;
    }
}
