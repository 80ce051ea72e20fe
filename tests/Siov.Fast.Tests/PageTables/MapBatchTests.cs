using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.PageTables;

/// <summary>
/// <see cref="SecondLevelPageTable.MapBatch"/> is all or nothing: every failing batch leaves the
/// table, the memory and the frame allocator exactly as they were, and names the failing item.
/// </summary>
public sealed class MapBatchTests : IDisposable
{
    private const DmaProtection RW = DmaProtection.ReadWrite;
    private readonly PhysicalMemory _memory = new(1UL << 20); // 256 frames
    private readonly SecondLevelPageTable _table;

    public MapBatchTests()
    {
        _table = new SecondLevelPageTable(_memory); // 4 levels, 48-bit IOVA, 46-bit HAW
        _table.Map(0x10_0000, 0x5000_0000, 0x3000, RW);                 // three 4 KiB pages
        _table.Map(0x40_0000, 0x6000_0000, 0x20_0000, DmaProtection.Read); // one 2 MiB superpage
    }

    public void Dispose()
    {
        _table.Dispose();
        _memory.Dispose();
    }

    [Fact]
    public void MapBatch_AllFree_MapsEveryItem_InAnyOrder()
    {
        IoMapping[] batch =
        [
            new(0x80_0000_0000, 0x1000, 0x1000, DmaProtection.Read),     // new SL-PDPT, SL-PD, SL-PT
            new(0x20_0000, 0x7000_0000, 0x20_0000, RW),                   // a 2 MiB leaf next to the existing ones
            new(0x10_3000, 0x9000, 0x2000, DmaProtection.Write),          // after the three 4 KiB pages, same SL-PT
        ];
        int before = _table.TablePages;
        _table.MapBatch(batch);

        Assert.Equal(before + 3, _table.TablePages);
        Assert.Equal(_table.TablePages, _memory.Frames.AllocatedFrames);
        Assert.Equal(0x1000UL, _table.IovaToPhys(0x80_0000_0000));
        Assert.Equal(0x7000_1234UL, _table.IovaToPhys(0x20_1234));
        Assert.Equal(0xA000UL, _table.IovaToPhys(0x10_4000));
        Assert.Equal(0x3000UL + 0x20_0000 + 0x20_0000 + 0x1000 + 0x2000, _table.MappedBytes);
    }

    [Fact]
    public void MapBatch_ExistingOverlapAtTheLastItem_IsEexist_AndChangesNothing()
    {
        _table.Map(0x7000_0000_0000, 0x1000, 0x1000, DmaProtection.Read);
        // Four free items that need new tables in several places, then one, last by position and by
        // IOVA, whose first page is free (under a missing SL-PML4E entry) and whose second is mapped.
        IoMapping[] batch =
        [
            new(0x80_0000_0000, 0x1000, 0x1000, RW),
            new(0x100_0000_0000, 0x2000, 0x3000, RW),
            new(0x4000_0000, 0x4000_0000, 0x4000_0000, RW),
            new(0x6000_0000_1000, 0x3000, 0x20_0000, RW),
            new(0x6FFF_FFFF_F000, 0x9000, 0x2000, DmaProtection.Read),
        ];
        IommuException e = PageTableTestKit.AssertFailsAndChangesNothing(_table, Errno.EEXIST, () => _table.MapBatch(batch));
        Assert.Equal(4, e.Index);
        Assert.Equal("EEXIST: mappings[4]: map: IOVA 0x700000000000 (+0x1000) overlaps an existing mapping: a 4 KiB page at IOVA 0x700000000000 is already mapped",
            e.Message);
    }

    [Fact]
    public void MapBatch_ItemsOverlappingEachOther_IsEexistNamingBoth_AndChangesNothing()
    {
        IoMapping[] batch =
        [
            new(0x80_0000_0000, 0x1000, 0x4000, RW),
            new(0x90_0000_0000, 0x1000, 0x1000, RW),
            new(0x80_0000_3000, 0x8000, 0x1000, RW),   // the last page of item 0
        ];
        IommuException e = PageTableTestKit.AssertFailsAndChangesNothing(_table, Errno.EEXIST, () => _table.MapBatch(batch));
        Assert.Equal(2, e.Index);
        Assert.Equal("EEXIST: mappings[2]: map: [0x8000003000, +0x1000) overlaps mappings[0] [0x8000000000, +0x4000) of the same batch", e.Message);
    }

    [Fact]
    public void MapBatch_SameIovaTwice_IsEexist()
    {
        IoMapping[] batch = [new(0x20_0000, 0x1000, 0x1000, RW), new(0x20_0000, 0x1000, 0x1000, RW)];
        IommuException e = PageTableTestKit.AssertFailsAndChangesNothing(_table, Errno.EEXIST, () => _table.MapBatch(batch));
        Assert.Equal(1, e.Index);
        Assert.Contains("overlaps mappings[0]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MapBatch_NotEnoughFramesForAllItems_IsEnomem_AndChangesNothing()
    {
        // Each item alone needs 3 new tables (SL-PDPT, SL-PD, SL-PT under a new SL-PML4E); leave 5 frames.
        while (_memory.Frames.FreeFrames > 5)
            _memory.Frames.Allocate();
        IoMapping[] batch = [new(0x80_0000_0000, 0x1000, 0x1000, RW), new(0x100_0000_0000, 0x1000, 0x1000, RW)];
        IommuException e = PageTableTestKit.AssertFailsAndChangesNothing(_table, Errno.ENOMEM, () => _table.MapBatch(batch));
        Assert.Null(e.Index);
        Assert.Contains("needs 6 new page-table pages but simulated memory has only 5 free frames", e.Message, StringComparison.Ordinal);

        _table.MapBatch(batch.AsSpan(0, 1));
        Assert.Equal(2, _memory.Frames.FreeFrames);
    }

    [Fact]
    public void MapBatch_AboveTablePageLimit_IsEnospc_AndChangesNothing()
    {
        IoMapping[] batch = [new(0x80_0000_0000, 0x1000, 0x1000, RW), new(0x100_0000_0000, 0x1000, 0x1000, RW)];
        _table.TablePageLimit = _table.TablePages + 5;
        IommuException e = PageTableTestKit.AssertFailsAndChangesNothing(_table, Errno.ENOSPC, () => _table.MapBatch(batch));
        Assert.Null(e.Index);
        Assert.Equal($"ENOSPC: map batch of 2 mappings needs 6 new page-table pages, above the limit of {_table.TablePageLimit} page-table pages per domain ({_table.TablePages} in use)", e.Message);

        _table.TablePageLimit++;
        _table.MapBatch(batch);
        Assert.Equal(_table.TablePageLimit, _table.TablePages);
    }

    [Fact]
    public void MapBatch_ItemsSharingMissingTables_CountThemOnce()
    {
        // Out of IOVA order; all under one new SL-PML4E entry: one SL-PDPT, one SL-PD, two SL-PTs.
        IoMapping[] batch =
        [
            new(0x80_0020_0000, 0x1000, 0x1000, RW),   // second SL-PT
            new(0x80_0000_1000, 0x2000, 0x1000, RW),   // first SL-PT
            new(0x80_0000_5000, 0x3000, 0x2000, RW),   // first SL-PT
            new(0x80_0000_3000, 0x4000, 0x1000, RW),   // first SL-PT
        ];
        Assert.Equal(4, PageTableTestKit.NaiveTablesNeeded(_table, batch));
        int before = _table.TablePages;
        _table.TablePageLimit = before + 4; // exactly enough: fails if any shared table is counted twice
        _table.MapBatch(batch);
        Assert.Equal(before + 4, _table.TablePages);
        Assert.Equal(_table.TablePages, _memory.Frames.AllocatedFrames);
    }

    [Theory]
    [InlineData(0x20_0000UL, 0x1000UL, 0UL, DmaProtection.Read, Errno.EINVAL)]          // zero size
    [InlineData(0x20_0800UL, 0x1000UL, 0x1000UL, DmaProtection.Read, Errno.EINVAL)]     // IOVA unaligned
    [InlineData(0x20_0000UL, 0x1010UL, 0x1000UL, DmaProtection.Read, Errno.EINVAL)]     // HPA unaligned
    [InlineData(0x20_0000UL, 0x1000UL, 0x1001UL, DmaProtection.Read, Errno.EINVAL)]     // size unaligned
    [InlineData(0x20_0000UL, 0x1000UL, 0x1000UL, DmaProtection.None, Errno.EINVAL)]     // no permission
    [InlineData(1UL << 48, 0x1000UL, 0x1000UL, DmaProtection.Read, Errno.ERANGE)]       // beyond the width
    [InlineData(0x20_0000UL, 1UL << 46, 0x1000UL, DmaProtection.Read, Errno.EINVAL)]    // HPA beyond HAW
    public void MapBatch_BadItem_FailsWithItsIndex_AndChangesNothing(ulong iova, ulong hpa, ulong size, DmaProtection prot, Errno expected)
    {
        IoMapping[] batch =
        [
            new(0x80_0000_0000, 0x1000, 0x1000, RW),
            new(0x5F_F000, 0x9000, 0x2000, DmaProtection.Read), // overlaps the superpage: reported only after the arguments
            new(iova, hpa, size, prot),
        ];
        IommuException e = PageTableTestKit.AssertFailsAndChangesNothing(_table, expected, () => _table.MapBatch(batch));
        Assert.Equal(2, e.Index);
        Assert.StartsWith($"{expected}: mappings[2]: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MapBatch_SuperpageOverAnEmptyLeftoverTable_ReplacesIt()
    {
        _table.Map(0x60_0000, 0x1000, 0x1000, DmaProtection.Read);
        _table.Unmap(0x60_0000, 0x1000); // leaves an empty SL-PT under the SL-PD entry for 0x600000
        int before = _table.TablePages;
        _table.MapBatch([new IoMapping(0x60_0000, 0x20_0000, 0x20_0000, RW), new IoMapping(0x80_0000, 0x1000, 0x1000, RW)]);
        Assert.Equal(before, _table.TablePages); // one SL-PT freed, one created
        Assert.Equal(_table.TablePages, _memory.Frames.AllocatedFrames);
        Assert.Equal(0x20_1234UL, _table.IovaToPhys(0x60_1234));
    }

    [Fact]
    public void MapBatch_Empty_ChangesNothing()
    {
        int frames = _memory.Frames.AllocatedFrames;
        _table.MapBatch([]);
        Assert.Equal(frames, _memory.Frames.AllocatedFrames);
        Assert.Equal(4, _table.GetMappings().Count);
    }

    [Fact]
    public void MapBatch_AfterDispose_Throws()
    {
        _table.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _table.MapBatch([new IoMapping(0x1000, 0x1000, 0x1000, RW)]));
    }
}
