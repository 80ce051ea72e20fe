using BenchmarkDotNet.Attributes;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Workloads;

namespace Siov.Fast.Bench;

/// <summary>
/// One IOTLB invalidation of each granularity on the hot4k platform (default IOTLB, 131,072
/// sets): global, domain-selective and PASID-selective sweep every set (read it as a probe does,
/// and lock, compare three ways and unlock only a set that holds a match); page-selective
/// (AM = 0) locks the one set the page hashes to.
/// Each invocation first refills 64 entries with translations, so there is something to remove;
/// the refill is part of the time and is the same for every granularity (see RefillOnly).
/// </summary>
[MemoryDiagnoser]
public class InvalidationBenchmarks
{
    private const int Refill = 64;
    private WorkloadPlatform _platform = null!;
    private DmaRequest[] _requests = null!;
    private TranslationResult[] _results = null!;

    [GlobalSetup]
    public void Setup()
    {
        _platform = WorkloadPlatform.Create(StandardWorkload.Hot4k);
        var random = SplitMix64.ForThread(42, 0);
        _requests = new DmaRequest[Refill];
        StandardWorkload.Hot4k.Fill(ref random, _requests);
        _results = new TranslationResult[Refill];
        _platform.Run(42, 0, 1 << 20); // fill the IOTLB with the whole working set
    }

    [GlobalCleanup]
    public void Cleanup() => _platform.Dispose();

    private void RefillEntries() => _platform.Unit.Translate(_requests, _results);

    /// <summary>The refill alone (64 translations, mostly walks after an invalidation).</summary>
    [Benchmark(Baseline = true)]
    public void RefillOnly() => RefillEntries();

    /// <summary>Global invalidation (G = 01b).</summary>
    [Benchmark]
    public int Global()
    {
        RefillEntries();
        return _platform.Unit.InvalidateIotlb();
    }

    /// <summary>Domain-selective invalidation of DID 1.</summary>
    [Benchmark]
    public int Domain()
    {
        RefillEntries();
        return _platform.Unit.InvalidateIotlbDomain(1);
    }

    /// <summary>PASID-selective invalidation of DID 1, RID_PASID 0.</summary>
    [Benchmark]
    public int Pasid()
    {
        RefillEntries();
        return _platform.Unit.InvalidateIotlbPasid(1, 0);
    }

    /// <summary>Page-selective invalidation of one 4 KiB page (AM = 0), the first refilled one.</summary>
    [Benchmark]
    public int PageSelective()
    {
        RefillEntries();
        return _platform.Unit.InvalidateIotlbPages(1, null, _requests[0].Iova & ~0xFFFUL, 0);
    }
}
