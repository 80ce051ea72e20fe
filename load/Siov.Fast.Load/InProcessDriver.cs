using System.Diagnostics;
using Siov.Fast.Ats;
using Siov.Fast.Caching;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Workloads;

namespace Siov.Fast.Load;

/// <summary>
/// The engine in this process: a <see cref="WorkloadPlatform"/> per run, each thread translating
/// its stream through a <see cref="TranslationPort"/> of its own, as a device model's DMA engine
/// would: the batch <see cref="TranslationPort.Translate(ReadOnlySpan{DmaRequest}, Span{TranslationResult})"/>,
/// or one <see cref="TranslationPort.Translate(in DmaRequest)"/> per request with --batch 1;
/// and optionally a churn writer.
/// </summary>
internal static class InProcessDriver
{
    public static LoadResult Run(LoadOptions options)
    {
        if (options.SmmuV3)
            return RunSmmu(options);
        var setup = Stopwatch.StartNew();
        RemappingUnitOptions unitOptions = RemappingUnitOptions.Default with { IotlbProbePath = options.Probe };
        if (options.IotlbEntries > 0)
            unitOptions = unitOptions with { IotlbCapacity = options.IotlbEntries };
        using WorkloadPlatform platform = WorkloadPlatform.Create(options.Workload, unitOptions, options.Translation, options.Ats);
        using DeviceTlb? atc = options.Ats ? platform.CreateDeviceTlb(options.AtcEntries > 0 ? options.AtcEntries : Iotlb.DefaultCapacity) : null;
        Console.Error.WriteLine($"siov-load: {options.Workload.Name} set up in {setup.Elapsed.TotalSeconds:F2} s " +
            $"({platform.Tables.Sum(t => t.TablePages)} table pages, IOTLB {platform.Unit.Iotlb.Capacity} entries, {platform.Unit.Iotlb.Path} probe"
            + (atc is null ? ")" : $", ATC {atc.Capacity} entries)"));

        RemappingStatistics before = default;
        long atcMissesBefore = 0, atcMissesAfter = 0;
        ChurnWriter? churn = options.ChurnRate > 0 ? new ChurnWriter(platform, options.ChurnRate) : null;
        var (requests, seconds, checksum, faults) = Harness.Run(options,
            (_, stream) => new EngineWorker(platform.Workload, () => atc is null ? platform.Unit.OpenPort() : null, atc, null, stream, options.Batch),
            onStart: () =>
            {
                before = platform.Unit.Statistics;
                atcMissesBefore = atc?.Misses ?? 0;
                churn?.Start();
            },
            onStop: () =>
            {
                atcMissesAfter = atc?.Misses ?? 0;
                churn?.Stop();
            });
        RemappingStatistics after = platform.Unit.Statistics;
        long hits = after.IotlbHits - before.IotlbHits;
        long misses = after.IotlbMisses - before.IotlbMisses;
        if (atc is not null)
            Console.Error.WriteLine($"siov-load: ATC {atc.Misses} misses, {atc.TranslationRequests} translation requests, {atc.Count} entries held");
        return new LoadResult(requests, seconds, checksum, faults,
            hits + misses == 0 ? 0 : (double)hits / (hits + misses), churn?.OpsPerSecond ?? 0,
            platform.Unit.Iotlb.Capacity,
            atc is null || requests == 0 ? null : 1 - (double)(atcMissesAfter - atcMissesBefore) / requests);
    }

    /// <summary>The workload on an SMMUv3 (--iommu smmuv3): the arm-smmu-v3 driver's AArch64 stage 1 tables, the SMMU's
    /// TLB (as many entries as the IOTLB by default).</summary>
    private static LoadResult RunSmmu(LoadOptions options)
    {
        var setup = Stopwatch.StartNew();
        var smmuOptions = new SmmuOptions
        {
            TlbCapacity = options.IotlbEntries > 0 ? options.IotlbEntries : Iotlb.DefaultCapacity,
            TlbProbePath = options.Probe,
        };
        using SmmuWorkloadPlatform platform = SmmuWorkloadPlatform.Create(options.Workload, smmuOptions);
        Console.Error.WriteLine($"siov-load: {options.Workload.Name} on SMMUv3 set up in {setup.Elapsed.TotalSeconds:F2} s " +
            $"({platform.Tables.Sum(t => t.TablePages)} table pages, TLB {platform.Smmu.Tlb.Capacity} entries, {platform.Smmu.Tlb.Path} probe)");
        var (requests, seconds, checksum, faults) = Harness.Run(options,
            (_, stream) => new EngineWorker(platform.Workload, () => null, null, platform.Smmu, stream, options.Batch));
        return new LoadResult(requests, seconds, checksum, faults, null, 0, platform.Smmu.Tlb.Capacity);
    }

    /// <summary>A thread's requests through its own port of the unit, or with --ats through the device's ATC (hits from
    /// the ATC, misses as ATS translation requests), or through an SMMUv3.</summary>
    private sealed class EngineWorker(StandardWorkload workload, Func<TranslationPort?> openPort, DeviceTlb? atc, Smmu? smmu, ulong stream,
        int batch) : Worker
    {
        // Made on the worker's own thread (Harness creates workers there), used only by it.
        private readonly TranslationPort? _port = openPort();
        private readonly StandardWorkload _workload = workload;
        private readonly DmaRequest[] _requests = new DmaRequest[batch];
        private readonly TranslationResult[] _results = new TranslationResult[batch];
        private SplitMix64 _random = new(stream);

        public override void Run(int count)
        {
            while (count > 0)
            {
                int n = Math.Min(_requests.Length, count);
                Span<DmaRequest> requests = _requests.AsSpan(0, n);
                Span<TranslationResult> results = _results.AsSpan(0, n);
                _workload.Fill(ref _random, requests);
                if (atc is not null)
                    atc.Translate(requests, results);
                else if (smmu is not null)
                    smmu.Translate(requests, results);
                else if (n == 1)
                    results[0] = _port!.Translate(requests[0]);
                else
                    _port!.Translate(requests, results);
                StandardWorkload.Accumulate(results, ref Checksum, ref Faults);
                count -= n;
            }
        }
    }
}

/// <summary>
/// A writer thread that maps and unmaps 4 KiB pages of domain 0 at a fixed rate, in an IOVA
/// range no request touches (from 512 GiB up), each unmap followed by a page-selective IOTLB
/// invalidation: it takes the same locks, bumps the same invalidation sequence and changes the
/// same page table as a real driver would, while the requests' checksum stays the same.
/// </summary>
internal sealed class ChurnWriter(WorkloadPlatform platform, double rate)
{
    public const ulong IovaBase = 0x80_0000_0000;   // 512 GiB: above every workload's IOVAs (< 68 GiB)
    private const ulong HpaBase = 0x200_0000_0000;  // 2 TiB: apart from every workload's HPAs
    private const int Pages = 512;                  // one level-1 table's worth

    private Thread? _thread;
    private volatile bool _stop;
    private long _ops;
    private double _seconds;

    public double OpsPerSecond => _seconds > 0 ? _ops / _seconds : 0;

    public void Start()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "churn" };
        _thread.Start();
    }

    public void Stop()
    {
        _stop = true;
        _thread?.Join();
    }

    private void Loop()
    {
        var table = platform.Tables[0];
        var unit = platform.Unit;
        ushort did = StandardWorkload.DomainIdOf(0);
        uint? pasid = platform.Workload.PasidOf(0);
        var clock = Stopwatch.StartNew();
        long ops = 0;
        int page = 0;
        while (!_stop)
        {
            long due = (long)(clock.Elapsed.TotalSeconds * rate);
            if (ops >= due)
            {
                Thread.Sleep(1);
                continue;
            }
            for (; ops < due && !_stop; ops += 2)
            {
                ulong iova = IovaBase + (ulong)page * 4096;
                table.Map(iova, HpaBase + (ulong)page * 4096, 4096, DmaProtection.ReadWrite);
                table.Unmap(iova, 4096);
                unit.InvalidateIotlbRange(did, pasid, iova, 4096);
                page = (page + 1) % Pages;
            }
        }
        _seconds = clock.Elapsed.TotalSeconds;
        _ops = ops;
    }
}
