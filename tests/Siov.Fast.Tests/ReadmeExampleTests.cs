using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests;

/// <summary>The README's library example, with each of its comments asserted.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void LibraryExample_BehavesAsTheReadmeSays()
    {
        using var memory = new PhysicalMemory(64UL << 20);
        using var table = new SecondLevelPageTable(memory);

        table.Map(iova: 0x1_0000_0000, hpa: 0x100_0000_0000, size: 0x40_2000, DmaProtection.ReadWrite);
        Assert.Equal(new ulong[] { 0x20_0000, 0x20_0000, 0x1000, 0x1000 }, table.GetMappings().Select(m => m.Size));

        WalkResult hit = table.Walk(0x1_0000_1234, DmaAccess.Write);
        Assert.Equal((WalkStatus.Success, 0x100_0000_1234UL, 0x20_0000UL), (hit.Status, hit.Hpa, hit.PageSize));

        WalkResult miss = table.Walk(0x2_0000_0000, DmaAccess.Read);
        Assert.Equal((WalkStatus.NotPresent, 3), (miss.Status, miss.Level));

        Assert.Equal(0x20_0000UL, table.Unmap(0x1_0000_0000, 0x1000));

        var e = Assert.Throws<IommuException>(() => table.Map(0x1_0040_0000, 0x5000, 0x1000, DmaProtection.Read));
        Assert.Equal(Errno.EEXIST, e.Code);
    }
}
