using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.PageTables;

/// <summary>
/// Random batches, single maps and unmaps on tables of every level count, each compared with
/// <see cref="ReferenceIoPageTable"/>. Before every map that the model accepts, the table-page count
/// is checked to be exact with the quota: at <c>TablePages + needed - 1</c> the call must fail with
/// ENOSPC and change nothing, at <c>TablePages + needed</c> it must succeed, where <c>needed</c> comes
/// from a page-by-page count through the public walk. Every failing call must leave the free-frame
/// count, the table-page count and the mapped bytes as they were.
/// </summary>
public class MapBatchModelTests
{
    private const ulong GiB = 1UL << 30;
    private const int HostAddressWidth = 46;

    public static TheoryData<int, PageSizes, int> Configurations => new()
    {
        { 3, PageSizes.All, 21 },
        { 4, PageSizes.All, 22 },
        { 5, PageSizes.All, 23 },
        { 4, PageSizes.Size4K | PageSizes.Size2M, 24 },
        { 4, PageSizes.Size4K | PageSizes.Size1G, 25 },
        { 5, PageSizes.Size4K, 26 },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void RandomBatches_MatchTheReferenceModel_AndCountTablePagesExactly(int levels, PageSizes sizes, int seed)
    {
        var format = new SecondLevelFormat { Levels = levels, PageSizes = sizes, HostAddressWidth = HostAddressWidth };
        using var memory = new PhysicalMemory(64UL << 20);
        using var table = new SecondLevelPageTable(memory, format);
        var model = new ReferenceIoPageTable(format.AddressWidth, HostAddressWidth, sizes);
        var random = new Random(seed);
        ulong top = 1UL << format.AddressWidth;
        ulong[] windows = [0, 0x1_0000_0000, top / 2, top - 8 * GiB];

        int batches = 0, failedBatches = 0, quotaProbes = 0, intraOverlaps = 0;
        for (int op = 0; op < 1500; op++)
        {
            ulong window = windows[random.Next(windows.Length)];
            int kind = random.Next(100);
            if (kind < 55)
            {
                IoMapping[] batch = RandomBatch(random, window, sizes);
                (Errno? expected, int? index, bool intra) = model.MapBatch(batch, apply: false);
                if (expected == null)
                    quotaProbes += ProbeQuota(table, batch, () => table.MapBatch(batch), op);
                IommuException? e = CaptureUnchangedOnFailure(table, () => table.MapBatch(batch));
                Assert.True(expected == e?.Code, $"op {op}: batch of {batch.Length}: model {expected}, engine {e?.Message}");
                if (e == null)
                {
                    model.MapBatch(batch);
                    batches++;
                    continue;
                }
                failedBatches++;
                Assert.NotNull(e.Index);
                Assert.StartsWith($"{e.Code}: mappings[{e.Index}]: ", e.Message, StringComparison.Ordinal);
                if (intra)
                {
                    // The engine names one overlapping pair; the index it reports is the later item of it.
                    IoMapping m = batch[e.Index.Value];
                    Assert.Contains(batch.Take(e.Index.Value), o => o.Iova < m.Iova + m.Size && m.Iova < o.Iova + o.Size);
                    Assert.Contains("of the same batch", e.Message, StringComparison.Ordinal);
                    intraOverlaps++;
                }
                else
                {
                    Assert.Equal(index, e.Index);
                }
            }
            else if (kind < 75)
            {
                IoMapping m = RandomItem(random, window, sizes);
                Errno? expected = model.MapBatch([m], apply: false).Error;
                if (expected == null)
                    quotaProbes += ProbeQuota(table, [m], () => table.Map(m.Iova, m.Hpa, m.Size, m.Protection), op);
                IommuException? e = CaptureUnchangedOnFailure(table, () => table.Map(m.Iova, m.Hpa, m.Size, m.Protection));
                Assert.True(expected == e?.Code, $"op {op}: map {m}: model {expected}, engine {e?.Message}");
                if (e == null)
                    Assert.Null(model.Map(m.Iova, m.Hpa, m.Size, m.Protection));
                else
                    Assert.Null(e.Index);
            }
            else
            {
                ulong iova = window + (ulong)random.Next(0, 4096) * 0x1000 + (random.Next(4) == 0 ? (ulong)random.Next(8) << 30 : 0UL);
                ulong size = random.Next(10) switch
                {
                    0 => GiB,
                    1 => (ulong)random.Next(1, 4) << 21,
                    _ => (ulong)random.Next(1, 64) * 0x1000,
                };
                size = Math.Min(size, top - iova);
                (Errno? expected, ulong expectedBytes) = model.Unmap(iova, size);
                ulong bytes = 0;
                Assert.Equal(expected, PageTableTestKit.Capture(() => bytes = table.Unmap(iova, size)));
                Assert.Equal(expectedBytes, bytes);
            }

            if (op % 100 == 0)
                AssertSameState(table, model, memory);
        }
        AssertSameState(table, model, memory);
        Assert.True(batches > 100 && failedBatches > 50 && quotaProbes > 150 && intraOverlaps > 10,
            $"too few cases: {batches} batches, {failedBatches} failed, {quotaProbes} quota probes, {intraOverlaps} intra-batch overlaps");
    }

    /// <summary>
    /// For a call the model accepts: with the quota one page short it must fail with ENOSPC and change
    /// nothing; the quota is then set exactly (the caller's call must then succeed) and reset after.
    /// Returns 1 when a probe was made (the call needs at least one new page).
    /// </summary>
    private static int ProbeQuota(SecondLevelPageTable table, IoMapping[] items, Action call, int op)
    {
        long needed = PageTableTestKit.NaiveTablesNeeded(table, items);
        table.TablePageLimit = int.MaxValue;
        if (needed == 0)
            return 0;
        table.TablePageLimit = (int)(table.TablePages + needed - 1);
        IommuException? e = CaptureUnchangedOnFailure(table, call);
        Assert.True(e?.Code == Errno.ENOSPC, $"op {op}: {needed} tables needed, quota one short: {e?.Message ?? "succeeded"}");
        Assert.Contains($"needs {needed} new page-table pages", e!.Message, StringComparison.Ordinal);
        Assert.Null(e.Index);
        table.TablePageLimit = (int)(table.TablePages + needed);
        return 1;
    }

    private static IommuException? CaptureUnchangedOnFailure(SecondLevelPageTable table, Action call)
    {
        int free = table.Memory.Frames.FreeFrames;
        int tablePages = table.TablePages;
        ulong mapped = table.MappedBytes;
        IommuException? e = PageTableTestKit.CaptureException(call);
        table.TablePageLimit = int.MaxValue;
        if (e != null)
        {
            Assert.Equal(free, table.Memory.Frames.FreeFrames);
            Assert.Equal(tablePages, table.TablePages);
            Assert.Equal(mapped, table.MappedBytes);
        }
        return e;
    }

    private static IoMapping[] RandomBatch(Random random, ulong window, PageSizes sizes)
    {
        int count = random.Next(1, 13);
        var items = new List<IoMapping>(count);
        if (random.Next(3) == 0)
        {
            // Independent items in a dense area: overlaps with each other and with the table are common.
            for (int i = 0; i < count; i++)
                items.Add(RandomItem(random, window, sizes));
        }
        else
        {
            // Disjoint items laid out from a random point, often adjacent (sharing tables), then shuffled.
            ulong cursor = window + (ulong)random.Next(0, 8192) * 0x1000;
            for (int i = 0; i < count; i++)
            {
                IoMapping m = RandomItem(random, 0, sizes);
                ulong alignment = m.Size >= GiB ? GiB : m.Size >= 0x20_0000 ? 0x20_0000UL : 0x1000UL;
                cursor = (cursor + alignment - 1) & ~(alignment - 1);
                if (cursor + m.Size > window + 8 * GiB)
                    break;
                items.Add(m with { Iova = cursor });
                cursor += m.Size + (random.Next(3) == 0 ? (ulong)random.Next(0, 600) * 0x1000 : 0);
            }
            if (random.Next(4) == 0 && items.Count > 1)
            {
                // Make one item overlap another.
                int a = random.Next(items.Count), b = random.Next(items.Count);
                if (a != b)
                    items[a] = items[a] with { Iova = items[b].Iova + (items[b].Size > 0x1000 ? 0x1000UL : 0) };
            }
            random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(items));
        }
        if (random.Next(20) == 0)
        {
            // A bad argument somewhere.
            int at = random.Next(items.Count);
            items[at] = random.Next(3) switch
            {
                0 => items[at] with { Iova = items[at].Iova + 0x800 },
                1 => items[at] with { Protection = DmaProtection.None },
                _ => items[at] with { Hpa = (1UL << HostAddressWidth) - 0x1000, Size = 0x2000 },
            };
        }
        return [.. items];
    }

    private static IoMapping RandomItem(Random random, ulong window, PageSizes sizes)
    {
        ulong hpaTop = 1UL << HostAddressWidth;
        var prot = (DmaProtection)random.Next(1, 4);
        int kind = random.Next(10);
        if (kind == 0 && (sizes & (PageSizes.Size2M | PageSizes.Size1G)) == 0)
            kind = 9; // 1 GiB in 4 KiB leaves would be 262,144 of them
        switch (kind)
        {
            case 0:
                return new IoMapping(window + (ulong)random.Next(0, 8) * GiB,
                    (ulong)random.NextInt64(0, (long)(hpaTop / GiB) - 4) * GiB
                        + (random.Next(2) == 0 || (sizes & PageSizes.Size2M) == 0 ? 0UL : (ulong)random.Next(512) << 21),
                    GiB * (ulong)random.Next(1, 3) + (random.Next(2) == 0 ? 0UL : 0x20_0000UL), prot);
            case 1:
            case 2:
                return new IoMapping(window + (ulong)random.Next(0, 64) * 0x20_0000,
                    (ulong)random.NextInt64(0, (long)(hpaTop >> 21) - 8) * 0x20_0000 + (random.Next(4) == 0 ? 0x1000UL : 0UL),
                    0x20_0000UL * (ulong)random.Next(1, 4) + (random.Next(3) == 0 ? (ulong)random.Next(1, 8) * 0x1000 : 0UL), prot);
            default:
                return new IoMapping(window + (ulong)random.Next(0, 4096) * 0x1000,
                    (ulong)random.NextInt64(0, (long)(hpaTop >> 12) - 64) * 0x1000,
                    (ulong)random.Next(1, 33) * 0x1000, prot);
        }
    }

    private static void AssertSameState(SecondLevelPageTable table, ReferenceIoPageTable model, PhysicalMemory memory)
    {
        Assert.Equal(model.Leaves, table.GetMappings());
        Assert.Equal(model.Leaves.Aggregate(0UL, (sum, l) => sum + l.Size), table.MappedBytes);
        Assert.Equal(table.TablePages, memory.Frames.AllocatedFrames);
    }
}
