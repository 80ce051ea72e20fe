using BenchmarkDotNet.Attributes;
using Siov.Fast;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Bench;

/// <summary>
/// Second-level page walks (what an IOTLB miss costs) and map/unmap of 4 KiB and 2 MiB pages.
/// Inputs are precomputed with a fixed seed; the walk touches 16,384 mapped 4 KiB pages in a
/// random order, as the hot4k workload does.
/// </summary>
[MemoryDiagnoser]
public class PageTableBenchmarks
{
    private const int Pages = 16_384;
    private const ulong IovaBase = 0x1_0000_0000;
    private PhysicalMemory _memory = null!;
    private SecondLevelPageTable _table4 = null!;
    private SecondLevelPageTable _table5 = null!;
    private ulong[] _iovas = null!;

    [GlobalSetup]
    public void Setup()
    {
        _memory = new PhysicalMemory(256UL << 20);
        _table4 = new SecondLevelPageTable(_memory, new SecondLevelFormat { Levels = 4 });
        _table5 = new SecondLevelPageTable(_memory, new SecondLevelFormat { Levels = 5 });
        for (ulong i = 0; i < Pages; i++)
        {
            _table4.Map(IovaBase + i * 4096, 0x100_0000_0000 + i * 4096, 4096, DmaProtection.ReadWrite);
            _table5.Map(IovaBase + i * 4096, 0x100_0000_0000 + i * 4096, 4096, DmaProtection.ReadWrite);
        }
        var random = new Random(42);
        _iovas = new ulong[4096];
        for (int i = 0; i < _iovas.Length; i++)
            _iovas[i] = IovaBase + (ulong)random.Next(Pages) * 4096 + (ulong)random.Next(4096);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _table4.Dispose();
        _table5.Dispose();
        _memory.Dispose();
    }

    /// <summary>4,096 four-level walks per invocation.</summary>
    [Benchmark(OperationsPerInvoke = 4096)]
    public ulong Walk4Level()
    {
        ulong sum = 0;
        foreach (ulong iova in _iovas)
            sum += _table4.Walk(iova, DmaAccess.Read).Hpa;
        return sum;
    }

    /// <summary>4,096 five-level walks per invocation.</summary>
    [Benchmark(OperationsPerInvoke = 4096)]
    public ulong Walk5Level()
    {
        ulong sum = 0;
        foreach (ulong iova in _iovas)
            sum += _table5.Walk(iova, DmaAccess.Read).Hpa;
        return sum;
    }

    /// <summary>Map then unmap one 4 KiB page (tables stay allocated between iterations).</summary>
    [Benchmark]
    public ulong MapUnmap4K()
    {
        _table4.Map(0x7_0000_0000, 0x5000, 4096, DmaProtection.Read);
        return _table4.Unmap(0x7_0000_0000, 4096);
    }

    /// <summary>Map then unmap one 2 MiB superpage.</summary>
    [Benchmark]
    public ulong MapUnmap2M()
    {
        _table4.Map(0x7_0020_0000, 0x20_0000, 0x20_0000, DmaProtection.Read);
        return _table4.Unmap(0x7_0020_0000, 0x20_0000);
    }
}
