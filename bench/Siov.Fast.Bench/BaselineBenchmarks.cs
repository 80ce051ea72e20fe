using BenchmarkDotNet.Attributes;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Workloads;

namespace Siov.Fast.Bench;

/// <summary>
/// The engine's batch translation of hot4k against two plain baselines on the same 4,096
/// precomputed requests (seed 42): a translator built on <see cref="Dictionary{TKey, TValue}"/>
/// (page number to page HPA, what a naive model would do) and a bare loop with one array load
/// per request (the lower bound of any translator that must look something up).
/// </summary>
[MemoryDiagnoser]
public class BaselineBenchmarks
{
    private const int Requests = 4096;
    private WorkloadPlatform _platform = null!;
    private DmaRequest[] _requests = null!;
    private TranslationResult[] _results = null!;
    private Dictionary<ulong, ulong> _dictionary = null!;
    private ulong[] _flat = null!;

    [GlobalSetup]
    public void Setup()
    {
        StandardWorkload workload = StandardWorkload.Hot4k;
        _platform = WorkloadPlatform.Create(workload);
        var random = SplitMix64.ForThread(42, 0);
        _requests = new DmaRequest[Requests];
        workload.Fill(ref random, _requests);
        _results = new TranslationResult[Requests];
        _dictionary = new Dictionary<ulong, ulong>(workload.PagesPerDomain);
        _flat = new ulong[workload.PagesPerDomain];
        for (int i = 0; i < workload.PagesPerDomain; i++)
        {
            _dictionary[workload.IovaOf(i) >> 12] = workload.HpaOf(0, i);
            _flat[i] = workload.HpaOf(0, i);
        }
        _platform.Run(42, 0, 1 << 20); // warm the IOTLB
    }

    [GlobalCleanup]
    public void Cleanup() => _platform.Dispose();

    /// <summary>The engine: one batch call for 4,096 IOTLB hits, then the checksum.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Requests)]
    public ulong EngineBatch()
    {
        _platform.Unit.Translate(_requests, _results);
        ulong sum = 0;
        long faults = 0;
        StandardWorkload.Accumulate(_results, ref sum, ref faults);
        return sum;
    }

    /// <summary>Dictionary lookup of the page number per request.</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public ulong DictionaryTranslator()
    {
        ulong sum = 0;
        foreach (DmaRequest request in _requests)
            sum += _dictionary.TryGetValue(request.Iova >> 12, out ulong hpa) ? hpa + (request.Iova & 0xFFF) : 0;
        return sum;
    }

    /// <summary>One array load per request: the lower bound.</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public ulong BareArrayLoad()
    {
        ulong sum = 0;
        ulong[] flat = _flat;
        foreach (DmaRequest request in _requests)
            sum += flat[(int)((request.Iova - StandardWorkload.IovaBase) >> 12)] + (request.Iova & 0xFFF);
        return sum;
    }
}
