using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.PageTables;

/// <summary>
/// <see cref="SecondLevelPageTable.GetMappings(ulong, int)"/> against the full listing: the leaves
/// that end above the start (a superpage holding the start included), in IOVA order, at most
/// maxCount of them, found without visiting the subtrees below the start.
/// </summary>
public sealed class BoundedListingTests : IDisposable
{
    private readonly PhysicalMemory _memory = new(16UL << 20);

    public void Dispose() => _memory.Dispose();

    [Theory]
    [InlineData(3, 11)]
    [InlineData(4, 12)]
    [InlineData(5, 13)]
    public void GetMappings_FromStart_MatchesTheFullListing(int levels, int seed)
    {
        var format = new SecondLevelFormat { Levels = levels };
        using var table = new SecondLevelPageTable(_memory, format);
        var random = new Random(seed);
        ulong top = 1UL << format.AddressWidth;
        ulong[] windows = [0, 0x80_0000_0000 % top, top / 2, top - (4UL << 30)];
        for (int i = 0; i < 300; i++)
        {
            ulong window = windows[random.Next(windows.Length)];
            int kind = random.Next(4);
            ulong iova = window + (kind == 0 ? (ulong)random.Next(4) << 30 : (ulong)random.Next(2048) << (kind == 1 ? 21 : 12));
            ulong size = kind switch { 0 => 1UL << 30, 1 => 0x20_0000, _ => (ulong)random.Next(1, 5) * 0x1000 };
            PageTableTestKit.Capture(() => table.Map(iova, iova % (1UL << 40), size, DmaProtection.Read)); // EEXIST now and then
        }
        IReadOnlyList<IoMapping> all = table.GetMappings();
        Assert.True(all.Count > 100, $"only {all.Count} leaves");
        Assert.Contains(all, m => m.Size == 1UL << 30);

        var starts = new List<ulong> { 0, top - 1, top, ulong.MaxValue };
        foreach (IoMapping m in all.Where((_, i) => i % 7 == 0))
        {
            starts.Add(m.Iova);
            starts.Add(m.Iova + m.Size / 2);          // inside the leaf: it is included
            starts.Add(m.Iova + m.Size);
        }
        for (int i = 0; i < 50; i++)
            starts.Add(windows[random.Next(windows.Length)] + (ulong)random.NextInt64(0, 4L << 30));

        foreach (ulong start in starts)
        {
            foreach (int max in new[] { 0, 1, 2, 17, 100_000 })
            {
                IoMapping[] expected = [.. all.Where(m => m.Iova + m.Size > start).Take(max)];
                Assert.Equal(expected, table.GetMappings(start, max));
            }
        }
    }

    [Fact]
    public void GetMappings_PagesThroughTheTable_WithTheEndOfTheLastLeaf()
    {
        using var table = new SecondLevelPageTable(_memory);
        table.Map(0x4000_0000, 0x2_0000_0000, 0x40_2000, DmaProtection.ReadWrite); // two 2 MiB, two 4 KiB
        table.Map(0x80_0000_0000, 0x4000_0000, 0x4000_0000, DmaProtection.Read);    // one 1 GiB
        var pages = new List<IoMapping>();
        ulong start = 0;
        while (true)
        {
            IReadOnlyList<IoMapping> page = table.GetMappings(start, 2);
            pages.AddRange(page);
            if (page.Count < 2)
                break;
            start = page[^1].Iova + page[^1].Size;
        }
        Assert.Equal(table.GetMappings(), pages);
    }

    [Fact]
    public void GetMappings_SuperpageHoldingTheStart_IsIncluded()
    {
        using var table = new SecondLevelPageTable(_memory);
        table.Map(0x4000_0000, 0x4000_0000, 0x4000_0000, DmaProtection.Read);
        Assert.Equal([new IoMapping(0x4000_0000, 0x4000_0000, 0x4000_0000, DmaProtection.Read)], table.GetMappings(0x5234_5678, 10));
        Assert.Empty(table.GetMappings(0x8000_0000, 10));
    }

    [Fact]
    public void GetMappings_SkipsSubtreesBelowTheStart_AndStopsAtMaxCount()
    {
        using var table = new SecondLevelPageTable(_memory);
        // 32 full SL-PTs (16,384 leaves of 4 KiB) below 64 MiB, then one leaf at 1 GiB.
        table.Map(0, 0x1000, 64UL << 20, DmaProtection.Read);
        table.Map(0x4000_0000, 0x1000, 0x1000, DmaProtection.Read);

        // The SL-PD for the first GiB is entered at the start's index; none of the 32 SL-PTs is visited.
        Assert.Equal([new IoMapping(0x4000_0000, 0x1000, 0x1000, DmaProtection.Read)], table.GetMappings(0x3000_0000, 1));
        Assert.True(table.LastListWork < 200, $"visited {table.LastListWork} entries");
        Assert.Equal([new IoMapping(0x4000_0000, 0x1000, 0x1000, DmaProtection.Read)], table.GetMappings(0x3000_0000, 5));
        Assert.True(table.LastListWork < 3_000, $"visited {table.LastListWork} entries"); // to the end of the four tables on the path

        Assert.Equal(3, table.GetMappings(0x10_0000, 3).Count);
        Assert.True(table.LastListWork < 10, $"visited {table.LastListWork} entries");
    }

    [Fact]
    public void GetMappings_NegativeMaxCount_IsEinval()
    {
        using var table = new SecondLevelPageTable(_memory);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => table.GetMappings(0, -1)).Code);
    }

    [Fact]
    public void GetMappings_AfterDispose_IsEmpty()
    {
        var table = new SecondLevelPageTable(_memory);
        table.Map(0x1000, 0x1000, 0x1000, DmaProtection.Read);
        table.Dispose();
        Assert.Empty(table.GetMappings(0, 10));
    }
}
