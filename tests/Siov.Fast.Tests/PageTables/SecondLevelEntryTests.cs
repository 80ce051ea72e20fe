using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.PageTables;

/// <summary>Entry encodings against values computed by hand from VT-d spec section 9.8.</summary>
public class SecondLevelEntryTests
{
    [Fact]
    public void Leaf4K_ReadWrite_IsAddressOrR1W1()
        => Assert.Equal(0x1234_5003UL, SecondLevelEntry.Leaf(0x1234_5000, DmaProtection.ReadWrite, superpage: false).Value);

    [Fact]
    public void Leaf2M_ReadOnly_SetsPsBit7()
        => Assert.Equal(0x4000_0081UL, SecondLevelEntry.Leaf(0x4000_0000, DmaProtection.Read, superpage: true).Value);

    [Fact]
    public void Leaf1G_WriteOnly_HighAddress()
        => Assert.Equal(0x000F_FFC0_0000_0082UL, SecondLevelEntry.Leaf(0x000F_FFC0_0000_0000, DmaProtection.Write, superpage: true).Value);

    [Fact]
    public void Table_IsAddressWithReadAndWrite()
        => Assert.Equal(0xABC_D003UL, SecondLevelEntry.Table(0xABC_D000).Value);

    [Fact]
    public void Table_DropsBitsOutsideTheAddressField()
        => Assert.Equal(0x000F_FFFF_FFFF_F003UL, SecondLevelEntry.Table(0xFFFF_FFFF_FFFF_FFFF).Value);

    [Fact]
    public void Decode_ReadsFields_AndIgnoresBits63And61To52()
    {
        var e = new SecondLevelEntry(0xBFF0_0001_2345_6081UL);
        Assert.True(e.IsPresent);
        Assert.True(e.IsPageSize);
        Assert.Equal(DmaProtection.Read, e.Protection);
        Assert.Equal(0x1_2345_6000UL, e.Address);
    }

    [Fact]
    public void Decode_ZeroRW_IsNotPresent_EvenWithAnAddress()
        => Assert.False(new SecondLevelEntry(0x1234_5000).IsPresent);

    [Theory]
    [InlineData(1, 12)]
    [InlineData(2, 21)]
    [InlineData(3, 30)]
    [InlineData(4, 39)]
    [InlineData(5, 48)]
    public void LevelShift_Is12Plus9PerLevel(int level, int shift) => Assert.Equal(shift, VtdPaging.LevelShift(level));

    [Theory]
    [InlineData(3, 39)]
    [InlineData(4, 48)]
    [InlineData(5, 57)]
    public void AddressWidth_MatchesAgaw(int levels, int width) => Assert.Equal(width, VtdPaging.AddressWidth(levels));
}
