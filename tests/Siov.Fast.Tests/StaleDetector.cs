namespace Siov.Fast.Tests;

/// <summary>
/// The stress tests' oracle. Each mapping's HPA encodes its page and a generation number, so a
/// translation can be told apart as current, stale (from a mapping whose unmap and invalidation had
/// returned before the translation started) or torn/foreign (another page, a lost offset, a
/// generation not yet published). The writer calls <see cref="NextHpa"/> before it maps a page and
/// <see cref="Unmapped"/> after its unmap (and invalidation) returns; readers run <see cref="Read"/>.
/// </summary>
internal sealed class StaleDetector(int pages)
{
    public const ulong HpaBase = 0x100_0000_0000;

    private readonly long[] _mappedGeneration = new long[pages];   // 0: never mapped
    private readonly long[] _unmappedGeneration = new long[pages]; // generation whose unmap has returned
    private long _generations, _stale, _torn, _successes;

    public long Stale => Interlocked.Read(ref _stale);

    public long Torn => Interlocked.Read(ref _torn);

    /// <summary>Checked successful translations, published every 1024 so a writer can wait for enough.</summary>
    public long Successes => Interlocked.Read(ref _successes);

    /// <summary>Publishes the page's next generation (before the mapping exists) and returns its HPA.</summary>
    public ulong NextHpa(int page)
    {
        long generation = ++_generations;
        Volatile.Write(ref _mappedGeneration[page], generation);
        return HpaBase + ((((ulong)generation << 8) | (uint)page) << 12);
    }

    /// <summary>Records that the page's current mapping is gone: translations that start now must not see it.</summary>
    public void Unmapped(int page) => Volatile.Write(ref _unmappedGeneration[page], _mappedGeneration[page]);

    /// <summary>Translates random pages until <paramref name="stop"/>, classifying every successful result.</summary>
    /// <param name="translate">Translates (page, offset) with the reader's random source.</param>
    public void Read(int seed, Func<Random, int, ulong, TranslationResult> translate, CancellationToken stop)
    {
        var random = new Random(seed);
        var tally = new Tally();
        while (!stop.IsCancellationRequested)
        {
            int page = random.Next(_mappedGeneration.Length);
            ulong offset = (ulong)random.Next(0x1000);
            long unmappedBefore = Volatile.Read(ref _unmappedGeneration[page]);
            Classify(translate(random, page, offset), page, offset, unmappedBefore, ref tally);
        }
        Publish(tally);
    }

    /// <summary>
    /// <see cref="Read"/> a batch at a time: draws <paramref name="batch"/> (page, offset) pairs,
    /// notes each page's unmapped generation, has <paramref name="translate"/> translate them all in
    /// one call (the engine's batch loop), then classifies every result.
    /// </summary>
    public void ReadBatches(int seed, int batch, Action<int[], ulong[], TranslationResult[]> translate, CancellationToken stop)
    {
        var random = new Random(seed);
        var pages = new int[batch];
        var offsets = new ulong[batch];
        var unmappedBefore = new long[batch];
        var results = new TranslationResult[batch];
        var tally = new Tally();
        while (!stop.IsCancellationRequested)
        {
            for (int k = 0; k < batch; k++)
            {
                pages[k] = random.Next(_mappedGeneration.Length);
                offsets[k] = (ulong)random.Next(0x1000);
                unmappedBefore[k] = Volatile.Read(ref _unmappedGeneration[pages[k]]);
            }
            translate(pages, offsets, results);
            for (int k = 0; k < batch; k++)
                Classify(results[k], pages[k], offsets[k], unmappedBefore[k], ref tally);
        }
        Publish(tally);
    }

    private struct Tally
    {
        public long Stale, Torn, Ok;
    }

    private void Classify(TranslationResult r, int page, ulong offset, long unmappedBefore, ref Tally tally)
    {
        if (!r.IsSuccess)
            return;
        long latest = Volatile.Read(ref _mappedGeneration[page]);
        ulong frame = (r.Hpa - HpaBase) >> 12;
        long generation = (long)(frame >> 8);
        if (r.Hpa < HpaBase || (int)(frame & 0xFF) != page || (r.Hpa & 0xFFF) != offset || generation > latest)
            tally.Torn++;
        else if (generation <= unmappedBefore)
            tally.Stale++;
        else if (++tally.Ok % 1024 == 0)
            Interlocked.Add(ref _successes, 1024);
    }

    private void Publish(Tally tally)
    {
        Interlocked.Add(ref _stale, tally.Stale);
        Interlocked.Add(ref _torn, tally.Torn);
        Interlocked.Add(ref _successes, tally.Ok % 1024);
    }
}
