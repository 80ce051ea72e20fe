using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.PageTables;

/// <summary>
/// The cost of a map's first pass (the overlap check and the table count) is bounded by the table
/// entries the range touches, not by its page count: a hostile 16 TiB map of 4 KiB pages must be
/// refused (ENOMEM) after examining a few dozen entries. The bound is asserted on the entry counter
/// <c>LastMapCheckWork</c>, never on time. A per-page check examines at least one entry per page,
/// so it fails every bound here by orders of magnitude.
/// </summary>
public class MapWorkBoundTests
{
    private const ulong GiB = 1UL << 30;
    private const ulong TiB = 1UL << 40;

    [Theory]
    [InlineData(4, 46, 0x0UL, 0x1000UL, 16 * TiB)]                // 2^32 pages of 4 KiB
    [InlineData(4, 46, 0x1000UL, 0x2000UL, 16 * TiB)]             // start and end not aligned: partial entries at every level
    [InlineData(4, 46, 0x7F_FFE0_0000UL, 0x3000UL, 32 * TiB)]     // crosses SL-PML4E boundaries
    [InlineData(3, 46, 0x0UL, 0x1000UL, 256 * GiB)]
    [InlineData(5, 52, 0x1_0000_0000_1000UL, 0x2000UL, 1UL << 50)] // 2^38 pages, 5 levels
    public void Map_HugeRangeOf4KLeaves_IntoEmptyTable_IsEnomem_AfterFewEntries(int levels, int haw, ulong iova, ulong hpa, ulong size)
    {
        using var memory = new PhysicalMemory(1UL << 20); // 256 frames
        using var table = new SecondLevelPageTable(memory, new SecondLevelFormat { Levels = levels, HostAddressWidth = haw });

        IommuException e = PageTableTestKit.AssertFailsAndChangesNothing(table, Errno.ENOMEM,
            () => table.Map(iova, hpa, size, DmaProtection.ReadWrite));

        Assert.True(table.LastMapCheckWork < 10_000, $"pass one examined {table.LastMapCheckWork} entries");
        // The count is exact: one SL-PT per 2 MiB and the tables above them.
        Assert.Contains($"needs {ExpectedTables4K(levels, iova, size)} new page-table pages", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Map_HugeRange_ThroughExistingTables_ExaminesOnlyThoseTablesEntries()
    {
        using var memory = new PhysicalMemory(4UL << 20);
        using var table = new SecondLevelPageTable(memory);
        var random = new Random(7);
        // Existing tables inside and around the range: leaves just outside it, and tables left empty
        // inside it by unmapping (a present but empty table must be scanned, not counted as missing).
        table.Map(0x10_0000_0000 - 0x1000, 0x1000, 0x1000, DmaProtection.Read);
        table.Map(0x10_0000_0000 + 16 * TiB, 0x1000, 0x1000, DmaProtection.Read);
        for (int i = 0; i < 40; i++)
        {
            ulong va = 0x10_0000_0000 + (ulong)random.NextInt64(0, (long)(16 * TiB >> 12)) * 0x1000;
            table.Map(va, 0x1000, 0x1000, DmaProtection.Read);
            Assert.Equal(0x1000UL, table.Unmap(va, 0x1000));
        }
        int tablePages = table.TablePages;

        PageTableTestKit.AssertFailsAndChangesNothing(table, Errno.ENOMEM,
            () => table.Map(0x10_0000_0000, 0x3000, 16 * TiB, DmaProtection.ReadWrite));

        // At most every entry of every existing table once, plus a few closed-form steps per level.
        long bound = 512L * tablePages + 100;
        Assert.True(table.LastMapCheckWork <= bound, $"pass one examined {table.LastMapCheckWork} entries, bound {bound}");
    }

    [Fact]
    public void Map_64GiBOf2MLeaves_Succeeds_AndMatchesTheReferenceModel()
    {
        using var memory = new PhysicalMemory(1UL << 20);
        using var table = new SecondLevelPageTable(memory);
        var model = new ReferenceIoPageTable(48, 46, PageSizes.All);
        table.Map(0x1000, 0x1000, 0x1000, DmaProtection.Read);        // an existing neighbour in the same SL-PDPT
        Assert.Null(model.Map(0x1000, 0x1000, 0x1000, DmaProtection.Read));

        // IOVA 1 GiB aligned, HPA only 2 MiB aligned: 32,768 leaves of 2 MiB.
        const ulong iova = 64 * GiB, hpa = 0x2_0020_0000, size = 64 * GiB;
        int before = table.TablePages;
        long needed = PageTableTestKit.NaiveTablesNeeded(table, [new IoMapping(iova, hpa, size, DmaProtection.ReadWrite)]);
        table.Map(iova, hpa, size, DmaProtection.ReadWrite);
        Assert.Null(model.Map(iova, hpa, size, DmaProtection.ReadWrite));

        Assert.True(table.LastMapCheckWork < 10_000, $"pass one examined {table.LastMapCheckWork} entries");
        Assert.Equal(model.Leaves, table.GetMappings());
        Assert.Equal(64, needed);                                      // 64 SL-PDs; the SL-PDPT exists
        Assert.Equal(before + needed, table.TablePages);
        Assert.Equal(table.TablePages, memory.Frames.AllocatedFrames);
        Assert.Equal(size + 0x1000, table.MappedBytes);
        Assert.Equal(hpa + 0x12_3456, table.IovaToPhys(iova + 0x12_3456));
        Assert.Equal(hpa + size - 1, table.IovaToPhys(iova + size - 1));
    }

    [Fact]
    public void Map_16TiBOf1GLeaves_Succeeds_WithFewTables()
    {
        using var memory = new PhysicalMemory(1UL << 20);
        using var table = new SecondLevelPageTable(memory);
        table.Map(16 * TiB, 0, 16 * TiB, DmaProtection.Read);
        Assert.True(table.LastMapCheckWork < 10_000, $"pass one examined {table.LastMapCheckWork} entries");
        Assert.Equal(1 + 32, table.TablePages);                        // root + 32 SL-PDPTs of 512 leaves each
        Assert.Equal(16 * 1024, table.GetMappings().Count);
        Assert.All(table.GetMappings(), m => Assert.Equal(GiB, m.Size));
    }

    [Fact]
    public void Map_CheckWork_DoesNotGrowWithThePageCount()
    {
        using var memory = new PhysicalMemory(1UL << 20);
        using var table = new SecondLevelPageTable(memory);
        var work = new List<long>();
        for (ulong size = 64 * GiB; size <= 16 * TiB; size *= 4)
        {
            Assert.Equal(Errno.ENOMEM, PageTableTestKit.Capture(() => table.Map(0x1000, 0x2000, size, DmaProtection.Read)));
            work.Add(table.LastMapCheckWork);
        }
        // 256 times the pages: the work stays within a constant (the SL-PML4E entries touched, at most 33).
        Assert.True(work.Max() - work.Min() <= 128, string.Join(", ", work));
    }

    [Theory]
    [InlineData(0x10_1000UL, 0x1000UL, "IOVA 0x101000 (+0x1000) overlaps an existing mapping: a 4 KiB page at IOVA 0x101000 is already mapped")]
    [InlineData(0x0F_E000UL, 0x3000UL, "IOVA 0x100000 (+0x1000) overlaps an existing mapping: a 4 KiB page at IOVA 0x100000 is already mapped")]
    [InlineData(0x40_5000UL, 0x1000UL, "IOVA 0x405000 (+0x1000) overlaps an existing mapping: a 2048 KiB page at IOVA 0x400000 is already mapped")]
    [InlineData(0x3F_F000UL, 0x2000UL, "IOVA 0x400000 (+0x1000) overlaps an existing mapping: a 2048 KiB page at IOVA 0x400000 is already mapped")]
    [InlineData(0x0UL, 0x20_0000UL, "IOVA 0x0 (+0x200000) overlaps an existing mapping: smaller pages under IOVA 0x0 is already mapped")]
    [InlineData(0x0UL, 0x4000_0000UL, "IOVA 0x0 (+0x40000000) overlaps an existing mapping: smaller pages under IOVA 0x0 is already mapped")]
    public void Map_Overlap_NamesTheFirstConflictingLeaf_AsBefore(ulong iova, ulong size, string expected)
    {
        using var memory = new PhysicalMemory(1UL << 20);
        using var table = new SecondLevelPageTable(memory);
        table.Map(0x10_0000, 0x5000_0000, 0x3000, DmaProtection.ReadWrite);  // three 4 KiB pages
        table.Map(0x40_0000, 0x6000_0000, 0x20_0000, DmaProtection.Read);    // one 2 MiB superpage
        // HPA 1 GiB aligned, so the leaf sizes follow the IOVA.
        IommuException e = PageTableTestKit.AssertFailsAndChangesNothing(table, Errno.EEXIST,
            () => table.Map(iova, 0x4000_0000, size, DmaProtection.Read));
        Assert.Equal("EEXIST: map: " + expected, e.Message);
        Assert.Null(e.Index);
    }

    /// <summary>Tables a map of 4 KiB leaves over [iova, iova + size) creates in an empty table: the distinct
    /// regions of each level's span that the range touches, below the top level.</summary>
    private static long ExpectedTables4K(int levels, ulong iova, ulong size)
    {
        long tables = 0;
        for (int level = 1; level < levels; level++)
        {
            int shift = VtdPaging.LevelShift(level + 1);
            tables += (long)(((iova + size - 1) >> shift) - (iova >> shift) + 1);
        }
        return tables;
    }
}
