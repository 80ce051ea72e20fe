using Siov.Fast.Concurrency;

namespace Siov.Fast.Hardware.Vtd;

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
