using BenchmarkDotNet.Attributes;
using Siov.Fast;
using Siov.Fast.Caching;
using Siov.Fast.Drivers.IntelVtd;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Bench;

/// <summary>
/// <see cref="RemappingUnit.Translate(in DmaRequest)"/> on the hot4k layout of the standard
/// workloads (16,384 pages of 4 KiB, requester 01:00.0 without PASID, splitmix64 requests):
/// IOTLB hits through each probe path, a batch call, and the miss path (an IOTLB of one set,
/// so nearly every request walks the 4-level table).
/// </summary>
[MemoryDiagnoser]
public class TranslateBenchmarks
{
    private const int Pages = 16_384;
    private const int Requests = 4096;
    private const ulong IovaBase = 0x1_0000_0000;
    private const ushort Requester = 0x0100;

    private PhysicalMemory _memory = null!;
    private SecondLevelPageTable _table = null!;
    private RemappingUnit _unit = null!;
    private TranslationPort _port = null!;
    private RemappingUnit _missUnit = null!;
    private SecondLevelPageTable _table5 = null!;
    private RemappingUnit _missUnit5 = null!;
    private DmaRequest[] _requests = null!;
    private TranslationResult[] _results = null!;

    /// <summary>The IOTLB probe implementation (only those this processor accelerates).</summary>
    [ParamsSource(nameof(Paths))]
    public IotlbProbePath Path { get; set; }

    /// <summary>Vector256 where AVX2 is present, Vector128 where 128-bit SIMD is, and Scalar.</summary>
    public static IEnumerable<IotlbProbePath> Paths =>
        new[] { IotlbProbePath.Vector256, IotlbProbePath.Vector128, IotlbProbePath.Scalar }.Where(Iotlb.IsSupported);

    [GlobalSetup]
    public void Setup()
    {
        _memory = new PhysicalMemory(256UL << 20);
        _table = new SecondLevelPageTable(_memory);
        for (ulong i = 0; i < Pages; i++)
            _table.Map(IovaBase + i * 4096, 0x100_0000_0000 + ((i * 0x9E37_79B1) & (Pages - 1)) * 4096, 4096, DmaProtection.ReadWrite);
        _unit = new RemappingUnit(_memory, UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability,
            new RemappingUnitOptions { IotlbProbePath = Path });
        new IntelIommu(_unit, _memory).AttachDevice(Requester, 1, _table); // the driver programs the unit through its registers
        _port = _unit.OpenPort();
        _missUnit = new RemappingUnit(_memory, UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability,
            new RemappingUnitOptions { IotlbProbePath = Path, IotlbCapacity = Iotlb.Ways });
        new IntelIommu(_missUnit, _memory).AttachDevice(Requester, 1, _table); // the driver programs the unit through its registers
        _table5 = new SecondLevelPageTable(_memory, new SecondLevelFormat { Levels = 5 });
        for (ulong i = 0; i < Pages; i++)
            _table5.Map(IovaBase + i * 4096, 0x100_0000_0000 + ((i * 0x9E37_79B1) & (Pages - 1)) * 4096, 4096, DmaProtection.ReadWrite);
        _missUnit5 = new RemappingUnit(_memory, UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability,
            new RemappingUnitOptions { IotlbProbePath = Path, IotlbCapacity = Iotlb.Ways });
        new IntelIommu(_missUnit5, _memory).AttachDevice(Requester, 1, _table5); // the driver programs the unit through its registers

        ulong state = 42;
        _requests = new DmaRequest[Requests];
        for (int k = 0; k < Requests; k++)
        {
            ulong r = SplitMix64(ref state);
            _requests[k] = new DmaRequest(Requester, null, IovaBase + (r & (Pages - 1)) * 4096 + ((r >> 24) & 4095), DmaAccess.Read);
        }
        _results = new TranslationResult[Requests];
        foreach (DmaRequest request in _requests)
            _unit.Translate(request); // warm the IOTLB
    }

    private static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E37_79B9_7F4A_7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _unit.Dispose();
        _missUnit.Dispose();
        _missUnit5.Dispose();
        _table.Dispose();
        _table5.Dispose();
        _memory.Dispose();
    }

    /// <summary>One Translate call per request, all IOTLB hits.</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public ulong TranslateHit() => TranslateEach(_unit);

    /// <summary>One Translate call per request through a <see cref="TranslationPort"/>, all IOTLB hits.</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public ulong TranslateHitPort()
    {
        ulong sum = 0;
        foreach (DmaRequest request in _requests)
            sum += _port.Translate(request).Hpa;
        return sum;
    }

    /// <summary>One batch call for 4096 IOTLB hits.</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public TranslationResult TranslateHitBatch()
    {
        _unit.Translate(_requests, _results);
        return _results[^1];
    }

    /// <summary>The same misses through the batch call (walk-ahead prefetch after the first batch).</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public TranslationResult TranslateMissBatch()
    {
        _missUnit.Translate(_requests, _results);
        return _results[^1];
    }

    /// <summary>Nearly every request misses a one-set IOTLB and walks the 5-level table.</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public ulong TranslateMiss5Level() => TranslateEach(_missUnit5);

    /// <summary>Nearly every request misses a one-set IOTLB and walks the 4-level table.</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public ulong TranslateMiss() => TranslateEach(_missUnit);

    /// <summary>One single-request Translate call per request; the HPAs summed so nothing is optimized away.</summary>
    private ulong TranslateEach(RemappingUnit unit)
    {
        ulong sum = 0;
        foreach (DmaRequest request in _requests)
            sum += unit.Translate(request).Hpa;
        return sum;
    }
}
