using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.PageTables;

/// <summary>
/// <see cref="SecondLevelPageTable.TablePageLimit"/>: a map that would take the table above its
/// quota of table pages fails with ENOSPC before anything changes; a limit below the current
/// count only stops growth.
/// </summary>
public sealed class TablePageLimitTests : IDisposable
{
    private readonly PhysicalMemory _memory = new(1UL << 20);
    private readonly SecondLevelPageTable _table;

    public TablePageLimitTests() => _table = new SecondLevelPageTable(_memory);

    public void Dispose()
    {
        _table.Dispose();
        _memory.Dispose();
    }

    [Fact]
    public void TablePageLimit_DefaultsToIntMax()
        => Assert.Equal(int.MaxValue, _table.TablePageLimit);

    [Fact]
    public void Map_AboveTheLimit_IsEnospc_NamingTheLimit_AndChangesNothing()
    {
        _table.TablePageLimit = 3;
        IommuException e = PageTableTestKit.AssertFailsAndChangesNothing(_table, Errno.ENOSPC,
            () => _table.Map(0x4000_1000, 0x1000, 0x1000, DmaProtection.Read));
        Assert.Equal("ENOSPC: map needs 3 new page-table pages, above the limit of 3 page-table pages per domain (1 in use)", e.Message);
        Assert.Null(e.Index);

        _table.TablePageLimit = 4; // exactly enough
        _table.Map(0x4000_1000, 0x1000, 0x1000, DmaProtection.Read);
        Assert.Equal(4, _table.TablePages);
    }

    [Fact]
    public void Map_QuotaIsCheckedBeforeMemory()
    {
        while (_memory.Frames.FreeFrames > 0)
            _memory.Frames.Allocate();
        _table.TablePageLimit = 2;
        PageTableTestKit.AssertFailsAndChangesNothing(_table, Errno.ENOSPC,
            () => _table.Map(0x4000_1000, 0x1000, 0x1000, DmaProtection.Read));
        _table.TablePageLimit = 100;
        PageTableTestKit.AssertFailsAndChangesNothing(_table, Errno.ENOMEM,
            () => _table.Map(0x4000_1000, 0x1000, 0x1000, DmaProtection.Read));
    }

    [Fact]
    public void Limit_BelowTheCurrentCount_OnlyStopsGrowth()
    {
        _table.Map(0x4000_1000, 0x1000, 0x1000, DmaProtection.Read); // 4 table pages
        _table.TablePageLimit = 1;
        Assert.Equal(4, _table.TablePages);

        _table.Map(0x4000_2000, 0x2000, 0x1000, DmaProtection.Read);                     // same SL-PT: no new page
        _table.Map(0x4020_0000, 0x20_0000, 0x20_0000, DmaProtection.Read);               // a 2 MiB leaf in the SL-PD
        IommuException e = PageTableTestKit.AssertFailsAndChangesNothing(_table, Errno.ENOSPC,
            () => _table.Map(0x4040_0000, 0x1000, 0x1000, DmaProtection.Read));         // needs a new SL-PT
        Assert.Contains("needs 1 new page-table pages, above the limit of 1 page-table pages per domain (4 in use)", e.Message, StringComparison.Ordinal);

        Assert.Equal(0x1000UL, _table.Unmap(0x4000_1000, 0x1000));
        Assert.Equal(4, _table.TablePages); // the limit frees nothing
    }

    [Fact]
    public void Limit_CountsPagesBeforeAReplacedTableIsFreed()
    {
        _table.Map(0x20_0000, 0x1000, 0x1000, DmaProtection.Read);
        _table.Unmap(0x20_0000, 0x1000); // an empty SL-PT stays
        _table.TablePageLimit = _table.TablePages;
        // A 2 MiB leaf over the empty SL-PT needs no new page: allowed at the limit.
        _table.Map(0x20_0000, 0x20_0000, 0x20_0000, DmaProtection.Read);
        Assert.Equal(3, _table.TablePages);
    }

    [Fact]
    public void Limit_Negative_IsEinval()
    {
        var e = Assert.Throws<IommuException>(() => _table.TablePageLimit = -1);
        Assert.Equal(Errno.EINVAL, e.Code);
        Assert.Equal(int.MaxValue, _table.TablePageLimit);
    }
}
