using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.PageTables;

/// <summary>
/// Maps a few pages and reads the raw entries back from simulated memory at addresses
/// computed by hand: index at level L = (IOVA >> (12 + 9 * (L - 1))) &amp; 511, entry at
/// table + 8 * index. Frames come from the allocator in order from the region's base.
/// </summary>
public sealed class PageTableLayoutTests : IDisposable
{
    private const ulong Base = 0x8000_0000;
    private readonly PhysicalMemory _memory = new(0x10_0000, Base);

    public void Dispose() => _memory.Dispose();

    [Fact]
    public void Map4K_WritesFourLevelsAtHandComputedOffsets()
    {
        using var table = new SecondLevelPageTable(_memory);
        Assert.Equal(Base, table.RootHpa);

        // IOVA 0x1_2345_6000: L4 index 0, L3 index 4, L2 index 0x11A, L1 index 0x56.
        table.Map(0x1_2345_6000, 0xABCD_E000, 0x1000, DmaProtection.ReadWrite);

        Assert.Equal(0x8000_1003UL, _memory.ReadUInt64(Base + 0 * 8));                // SL-PML4E -> SL-PDPT at +0x1000
        Assert.Equal(0x8000_2003UL, _memory.ReadUInt64(0x8000_1000 + 4 * 8));         // SL-PDPE  -> SL-PD at +0x2000
        Assert.Equal(0x8000_3003UL, _memory.ReadUInt64(0x8000_2000 + 0x11A * 8));     // SL-PDE   -> SL-PT at +0x3000
        Assert.Equal(0xABCD_E003UL, _memory.ReadUInt64(0x8000_3000 + 0x56 * 8));      // SL-PTE   -> page
        Assert.Equal(4, table.TablePages);
        Assert.Equal(0xABCD_E123UL, table.IovaToPhys(0x1_2345_6123));
    }

    [Fact]
    public void Map2MAnd1G_WriteSuperpageLeavesWithPs()
    {
        using var table = new SecondLevelPageTable(_memory);
        // 2 MiB, read-only, at IOVA 0x60_0000: L4[0] -> L3 at +0x1000, L3[0] -> L2 at +0x2000, L2[3] is the leaf.
        table.Map(0x60_0000, 0x1_0020_0000, 0x20_0000, DmaProtection.Read);
        Assert.Equal(0x1_0020_0081UL, _memory.ReadUInt64(0x8000_2000 + 3 * 8));

        // 1 GiB, write-only, at IOVA 512 GiB: L4[1] -> L3 at +0x3000, L3[0] is the leaf.
        table.Map(0x80_0000_0000, 0x2_0000_0000, 0x4000_0000, DmaProtection.Write);
        Assert.Equal(0x8000_3003UL, _memory.ReadUInt64(Base + 1 * 8));
        Assert.Equal(0x2_0000_0082UL, _memory.ReadUInt64(0x8000_3000));

        WalkResult w = table.Walk(0x80_1234_5678, DmaAccess.Write);
        Assert.Equal(WalkStatus.Success, w.Status);
        Assert.Equal((3, 0x2_1234_5678UL, 0x4000_0000UL), (w.Level, w.Hpa, w.PageSize));
    }

    [Fact]
    public void FiveLevels_UseThePml5Index()
    {
        using var table = new SecondLevelPageTable(_memory, new SecondLevelFormat { Levels = 5 });
        table.Map(1UL << 48, 0x5000, 0x1000, DmaProtection.Read); // L5 index 1, every lower index 0
        Assert.Equal(0x8000_1003UL, _memory.ReadUInt64(Base + 1 * 8));
        Assert.Equal(0x8000_2003UL, _memory.ReadUInt64(0x8000_1000));
        Assert.Equal(0x8000_3003UL, _memory.ReadUInt64(0x8000_2000));
        Assert.Equal(0x8000_4003UL, _memory.ReadUInt64(0x8000_3000));
        Assert.Equal(0x5001UL, _memory.ReadUInt64(0x8000_4000));
        Assert.Equal(0x5010UL, table.IovaToPhys((1UL << 48) + 0x10));
    }

    [Fact]
    public void ThreeLevels_StopAt39Bits()
    {
        using var table = new SecondLevelPageTable(_memory, new SecondLevelFormat { Levels = 3 });
        table.Map((1UL << 39) - 0x1000, 0x7000, 0x1000, DmaProtection.Read); // the last 4 KiB page
        Assert.Equal(0x7FFFUL, table.IovaToPhys((1UL << 39) - 1));
        Assert.Equal(WalkStatus.AddressBeyondWidth, table.Walk(1UL << 39).Status);
        Assert.Equal(Errno.ERANGE, Assert.Throws<IommuException>(() => table.Map(1UL << 39, 0, 0x1000, DmaProtection.Read)).Code);
    }

    [Fact]
    public void Map_PicksLargestAlignedSizes_LikeIommuPgsize()
    {
        using var table = new SecondLevelPageTable(_memory);
        // IOVA and HPA both 2 MiB aligned: 4 MiB + 8 KiB becomes two 2 MiB leaves then two 4 KiB leaves.
        table.Map(0x4000_0000, 0x2_0000_0000, 0x40_2000, DmaProtection.ReadWrite);
        Assert.Equal(
            new[]
            {
                new IoMapping(0x4000_0000, 0x2_0000_0000, 0x20_0000, DmaProtection.ReadWrite),
                new IoMapping(0x4020_0000, 0x2_0020_0000, 0x20_0000, DmaProtection.ReadWrite),
                new IoMapping(0x4040_0000, 0x2_0040_0000, 0x1000, DmaProtection.ReadWrite),
                new IoMapping(0x4040_1000, 0x2_0040_1000, 0x1000, DmaProtection.ReadWrite),
            },
            table.GetMappings());

        // HPA only 4 KiB aligned: no superpage although the IOVA is 2 MiB aligned.
        table.Map(0x8000_0000, 0x3_0000_1000, 0x20_0000, DmaProtection.Read);
        Assert.Equal(512, table.GetMappings().Count(m => m.Iova >= 0x8000_0000));
    }

    [Fact]
    public void Map_WithoutSuperpageSupport_Uses4KLeaves()
    {
        using var table = new SecondLevelPageTable(_memory, new SecondLevelFormat { PageSizes = PageSizes.Size4K });
        table.Map(0x4000_0000, 0x2_0000_0000, 0x20_0000, DmaProtection.ReadWrite);
        Assert.All(table.GetMappings(), m => Assert.Equal(0x1000UL, m.Size));
        Assert.Equal(512, table.GetMappings().Count);
    }

    [Fact]
    public void Unmap_PartOfASuperpage_RemovesItWhole_AndReportsItsSize()
    {
        using var table = new SecondLevelPageTable(_memory);
        table.Map(0x20_0000, 0x40_0000, 0x20_0000, DmaProtection.ReadWrite);
        Assert.Equal(0x20_0000UL, table.Unmap(0x20_1000, 0x1000));
        Assert.Equal(0UL, table.IovaToPhys(0x20_0000));
        Assert.Empty(table.GetMappings());
        Assert.Equal(0UL, table.MappedBytes);
    }

    [Fact]
    public void Unmap_OfAHole_ReturnsZero()
    {
        using var table = new SecondLevelPageTable(_memory);
        table.Map(0x1000, 0x1000, 0x1000, DmaProtection.Read);
        Assert.Equal(0UL, table.Unmap(0x2000, 0x3000));
        Assert.Equal(0x1000UL, table.IovaToPhys(0x1000));
    }

    [Fact]
    public void Unmap_CoveringWholeTables_FreesThem()
    {
        using var table = new SecondLevelPageTable(_memory);
        table.Map(0x4000_1000, 0x1000, 0x2000, DmaProtection.Read); // root, L3, L2, L1
        Assert.Equal(4, table.TablePages);

        Assert.Equal(0x1000UL, table.Unmap(0x4000_1000, 0x1000));   // part of the L1 table: it stays
        Assert.Equal(4, table.TablePages);

        Assert.Equal(0x1000UL, table.Unmap(0x4000_0000, 0x4000_0000)); // the whole 1 GiB under L3[1]: L2 and L1 go
        Assert.Equal(2, table.TablePages);
        Assert.Equal(2, _memory.Frames.AllocatedFrames);
    }

    [Fact]
    public void Superpage_OverAnEmptyLeftoverTable_ReplacesIt()
    {
        using var table = new SecondLevelPageTable(_memory);
        table.Map(0x20_0000, 0x1000, 0x1000, DmaProtection.Read);
        table.Unmap(0x20_0000, 0x1000); // leaves an empty SL-PT under L2[1]
        Assert.Equal(4, table.TablePages);

        table.Map(0x20_0000, 0x40_0000, 0x20_0000, DmaProtection.Read);
        Assert.Equal(3, table.TablePages); // the empty SL-PT was freed
        Assert.Equal(new[] { new IoMapping(0x20_0000, 0x40_0000, 0x20_0000, DmaProtection.Read) }, table.GetMappings());
    }

    [Fact]
    public void Dispose_FreesEveryPage_AndLaterWalksFault()
    {
        var table = new SecondLevelPageTable(_memory);
        table.Map(0x4000_0000, 0x2_0000_0000, 0x40_2000, DmaProtection.ReadWrite);
        table.Dispose();
        Assert.Equal(0, _memory.Frames.AllocatedFrames);
        Assert.Equal(WalkStatus.InvalidTablePointer, table.Walk(0x4000_0000).Status);
        Assert.Throws<ObjectDisposedException>(() => table.Map(0, 0, 0x1000, DmaProtection.Read));
    }
}
