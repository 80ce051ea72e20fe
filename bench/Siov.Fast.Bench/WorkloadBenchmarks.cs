using BenchmarkDotNet.Attributes;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Workloads;

namespace Siov.Fast.Bench;

/// <summary>
/// Batch translation of each standard workload (docs/workloads.md) on its platform: 2,097,152
/// precomputed requests of thread 0, seed 42 (32 MiB), translated 256 at a time, on a warmed
/// IOTLB. So many that cold4k's requests touch about 870,000 pages, more than the default IOTLB
/// holds, as in the load tool (a short stream would be replayed from the IOTLB). The time per
/// operation is the time per translation.
/// </summary>
[MemoryDiagnoser]
public class WorkloadBenchmarks
{
    private const int Requests = 1 << 21;
    private const int Batch = 256;
    private WorkloadPlatform _platform = null!;
    private DmaRequest[] _requests = null!;
    private TranslationResult[] _results = null!;

    /// <summary>The workload.</summary>
    [Params("hot4k", "cold4k", "huge2m", "siov64")]
    public string Workload { get; set; } = "hot4k";

    [GlobalSetup]
    public void Setup()
    {
        StandardWorkload workload = StandardWorkload.Find(Workload)!;
        _platform = WorkloadPlatform.Create(workload);
        var random = SplitMix64.ForThread(42, 0);
        _requests = new DmaRequest[Requests];
        workload.Fill(ref random, _requests);
        _results = new TranslationResult[Batch];
        _platform.Run(42 ^ 0xA5A5_A5A5_A5A5_A5A5UL, 0, 1 << 20); // warm up on another stream
    }

    [GlobalCleanup]
    public void Cleanup() => _platform.Dispose();

    /// <summary>2,097,152 translations in batches of 256, summed as the checksum.</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public ulong TranslateBatch()
    {
        ulong sum = 0;
        long faults = 0;
        ReadOnlySpan<DmaRequest> requests = _requests;
        for (int start = 0; start < requests.Length; start += Batch)
        {
            _platform.Unit.Translate(requests.Slice(start, Batch), _results);
            StandardWorkload.Accumulate(_results, ref sum, ref faults);
        }
        return sum;
    }
}
