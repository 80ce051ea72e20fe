using Siov.Fast.Concurrency;

namespace Siov.Fast.Remapping;

/// <summary>A snapshot of a remapping unit's counters (each a total since the unit was created).</summary>
/// <param name="Translations">Requests translated (hits, misses and faults).</param>
/// <param name="IotlbHits">Requests answered from the IOTLB.</param>
/// <param name="IotlbMisses">Requests that needed a second-level page walk.</param>
/// <param name="PageWalks">Second-level page walks.</param>
/// <param name="PassThrough">Requests translated by a pass-through context or PASID entry.</param>
/// <param name="ContextCacheMisses">Context-entry reads from the tables (context cache misses).</param>
/// <param name="PasidCacheMisses">PASID-entry reads from the tables (PASID cache misses).</param>
/// <param name="Faults">Requests that faulted (recorded or not).</param>
/// <param name="FaultsRecorded">Faults written to the fault log.</param>
/// <param name="FaultsDropped">Faults dropped by overflow.</param>
/// <param name="IotlbInvalidations">IOTLB invalidation requests of every granularity.</param>
/// <param name="ContextCacheInvalidations">Context-cache invalidation requests.</param>
/// <param name="PasidCacheInvalidations">PASID-cache invalidation requests.</param>
public readonly record struct RemappingStatistics(
    long Translations, long IotlbHits, long IotlbMisses, long PageWalks, long PassThrough,
    long ContextCacheMisses, long PasidCacheMisses, long Faults, long FaultsRecorded, long FaultsDropped,
    long IotlbInvalidations, long ContextCacheInvalidations, long PasidCacheInvalidations)
{
    /// <summary>IOTLB hits divided by IOTLB lookups (hits + misses); 0 when there were none.</summary>
    public double IotlbHitRate => IotlbHits + IotlbMisses == 0 ? 0 : (double)IotlbHits / (IotlbHits + IotlbMisses);
}

/// <summary>
/// The counters one thread updates for one unit: plain increments of fields that no other
/// thread writes, padded to whole cache lines, so counting costs no contention.
/// </summary>
internal sealed class ThreadCounters
{
#pragma warning disable CS0169, IDE0051 // padding keeps neighbouring blocks off this cache line
    private readonly long _padBefore0, _padBefore1, _padBefore2, _padBefore3, _padBefore4, _padBefore5, _padBefore6, _padBefore7;
#pragma warning restore CS0169, IDE0051
    public long Translations;
    public long IotlbHits;
    public long IotlbMisses;
    public long PageWalks;
    public long PassThrough;
    public long ContextCacheMisses;
    public long PasidCacheMisses;
    public long Faults;
    /// <summary>The last batch mostly missed the IOTLB: the next one prefetches page walks too.</summary>
    public bool WalkAhead;
#pragma warning disable CS0169, IDE0051
    private readonly long _padAfter0, _padAfter1, _padAfter2, _padAfter3, _padAfter4, _padAfter5, _padAfter6, _padAfter7;
#pragma warning restore CS0169, IDE0051
}

/// <summary>The per-thread counter blocks of one unit, indexed by <see cref="ThreadIndex"/>, and
/// the blocks of its <see cref="TranslationPort"/>s.</summary>
internal sealed class CounterSet
{
    private readonly Lock _lock = new();
    private ThreadCounters?[] _blocks = new ThreadCounters?[64];
    private ThreadCounters[] _portBlocks = [];

    /// <summary>A block of its own for a new port; counted by <see cref="Sum"/> from now on.</summary>
    public ThreadCounters AddPortBlock()
    {
        lock (_lock)
        {
            var block = new ThreadCounters();
            Volatile.Write(ref _portBlocks, [.. _portBlocks, block]);
            return block;
        }
    }

    /// <summary>This thread's block: one thread-static read and one array load once registered.</summary>
    public ThreadCounters Current
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        get
        {
            int index = ThreadIndex.Current;
            ThreadCounters?[] blocks = _blocks;
            return (uint)index < (uint)blocks.Length && blocks[index] is { } block ? block : Register(index);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private ThreadCounters Register(int index)
    {
        lock (_lock)
        {
            ThreadCounters?[] blocks = _blocks;
            if (index >= blocks.Length)
            {
                var grown = new ThreadCounters?[Math.Max(blocks.Length * 2, index + 1)];
                Array.Copy(blocks, grown, blocks.Length);
                blocks = grown;
            }
            ThreadCounters block = blocks[index] ??= new ThreadCounters();
            Volatile.Write(ref _blocks, blocks);
            return block;
        }
    }

    /// <summary>Sums every thread's block (values may be a few increments behind running threads).</summary>
    public (long Translations, long Hits, long Misses, long Walks, long PassThrough, long ContextMisses, long PasidMisses, long Faults) Sum()
    {
        long t = 0, h = 0, m = 0, w = 0, p = 0, c = 0, pc = 0, f = 0;
        foreach (ThreadCounters? block in Volatile.Read(ref _blocks).Concat(Volatile.Read(ref _portBlocks)))
        {
            if (block == null)
                continue;
            t += Volatile.Read(ref block.Translations);
            h += Volatile.Read(ref block.IotlbHits);
            m += Volatile.Read(ref block.IotlbMisses);
            w += Volatile.Read(ref block.PageWalks);
            p += Volatile.Read(ref block.PassThrough);
            c += Volatile.Read(ref block.ContextCacheMisses);
            pc += Volatile.Read(ref block.PasidCacheMisses);
            f += Volatile.Read(ref block.Faults);
        }
        return (t, h, m, w, p, c, pc, f);
    }
}
