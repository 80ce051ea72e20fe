using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.PageTables;

/// <summary>
/// Walk faults on tables whose entries are forged in memory: the reserved bits of VT-d spec
/// section 9.8, missing levels and missing permissions, each at a hand-computed entry.
/// Layout used: 4 levels from base 0x8000_0000; IOVA 0x1000 maps through root[0] -> L3 at
/// +0x1000, L3[0] -> L2 at +0x2000, L2[0] -> L1 at +0x3000, L1[1] (at 0x8000_3008).
/// </summary>
public sealed class WalkFaultTests : IDisposable
{
    private const ulong Pte = 0x8000_3008;
    private const ulong Pde = 0x8000_2000;
    private readonly PhysicalMemory _memory = new(0x10_0000, 0x8000_0000);
    private readonly SecondLevelPageTable _table;

    public WalkFaultTests()
    {
        _table = new SecondLevelPageTable(_memory);
        _table.Map(0x1000, 0x5000, 0x1000, DmaProtection.ReadWrite);
        Assert.Equal(0x5003UL, _memory.ReadUInt64(Pte));
    }

    public void Dispose()
    {
        _table.Dispose();
        _memory.Dispose();
    }

    [Theory]
    [InlineData(1UL << 11)]                // bit 11
    [InlineData(1UL << 62)]                // bit 62
    [InlineData(1UL << 46)]                // address bit at HAW (46)
    [InlineData(1UL << 51)]                // top address bit
    public void ReservedBitInPte_Faults(ulong bit)
    {
        _memory.WriteUInt64(Pte, 0x5003 | bit);
        WalkResult w = _table.Walk(0x1000, DmaAccess.Read);
        Assert.Equal((WalkStatus.ReservedBitsSet, 1), (w.Status, w.Level));
    }

    [Theory]
    [InlineData(1UL << 63)]                // ignored
    [InlineData(0x3FFUL << 52)]            // bits 61:52, ignored
    [InlineData(0x7FCUL)]                  // X, EMT, IPAT, bit 7, A, D, bit 10: ignored in an SL-PTE
    public void IgnoredBitsInPte_DoNotChangeTheTranslation(ulong bits)
    {
        _memory.WriteUInt64(Pte, 0x5003 | bits);
        WalkResult w = _table.Walk(0x1234, DmaAccess.ReadWrite);
        Assert.Equal((WalkStatus.Success, 0x5234UL), (w.Status, w.Hpa));
    }

    [Fact]
    public void PsInPml4e_IsReserved()
    {
        _memory.WriteUInt64(0x8000_0000, 0x8000_1003 | SecondLevelEntry.PageSizeBit);
        Assert.Equal((WalkStatus.ReservedBitsSet, 4), (_table.Walk(0x1000).Status, _table.Walk(0x1000).Level));
    }

    [Fact]
    public void Superpage_WithLowAddressBits_IsReserved()
    {
        // L2[1] as a 2 MiB leaf whose address has bit 12 set (bits 20:12 are reserved in a 2 MiB leaf).
        _memory.WriteUInt64(Pde + 8, 0x20_1000 | 0x83);
        WalkResult w = _table.Walk(0x20_0000);
        Assert.Equal((WalkStatus.ReservedBitsSet, 2), (w.Status, w.Level));

        _memory.WriteUInt64(Pde + 8, 0x40_0000 | 0x83);
        Assert.Equal(0x40_0010UL, _table.IovaToPhys(0x20_0010));
    }

    [Fact]
    public void Superpage_OfAnUnsupportedSize_IsReserved()
    {
        using var memory = new PhysicalMemory(0x10_0000);
        using var table = new SecondLevelPageTable(memory, new SecondLevelFormat { PageSizes = PageSizes.Size4K | PageSizes.Size2M });
        table.Map(0x4000_0000, 0x1000, 0x1000, DmaProtection.Read);
        // Forge L3[1] (root at 0, L3 at 0x1000) as a 1 GiB leaf: PS is reserved without 1 GiB support.
        memory.WriteUInt64(0x1000 + 8, 0x4000_0000 | 0x83);
        WalkResult w = table.Walk(0x4000_0000);
        Assert.Equal((WalkStatus.ReservedBitsSet, 3), (w.Status, w.Level));
    }

    [Fact]
    public void NotPresent_ReportsTheLevel()
    {
        Assert.Equal((WalkStatus.NotPresent, 1), (_table.Walk(0x2000).Status, _table.Walk(0x2000).Level));
        Assert.Equal((WalkStatus.NotPresent, 2), (_table.Walk(0x20_0000).Status, _table.Walk(0x20_0000).Level));
        Assert.Equal((WalkStatus.NotPresent, 3), (_table.Walk(0x4000_0000).Status, _table.Walk(0x4000_0000).Level));
        Assert.Equal((WalkStatus.NotPresent, 4), (_table.Walk(0x80_0000_0000).Status, _table.Walk(0x80_0000_0000).Level));
        Assert.Equal(0UL, _table.IovaToPhys(0x2000));
    }

    [Fact]
    public void Permissions_AreTheAndOverAllLevels()
    {
        _memory.WriteUInt64(Pte, 0x5001); // leaf read-only
        Assert.Equal(WalkStatus.WriteDenied, _table.Walk(0x1000, DmaAccess.Write).Status);
        Assert.Equal(WalkStatus.Success, _table.Walk(0x1000, DmaAccess.Read).Status);

        _memory.WriteUInt64(Pte, 0x5002); // leaf write-only
        Assert.Equal(WalkStatus.ReadDenied, _table.Walk(0x1000, DmaAccess.Read).Status);
        Assert.Equal(WalkStatus.ReadDenied, _table.Walk(0x1000, DmaAccess.ReadWrite).Status);

        _memory.WriteUInt64(Pte, 0x5003);
        _memory.WriteUInt64(Pde, 0x8000_3001); // the SL-PDE above it grants read only
        WalkResult w = _table.Walk(0x1000, DmaAccess.Write);
        Assert.Equal((WalkStatus.WriteDenied, DmaProtection.Read), (w.Status, w.Permissions));
    }

    [Fact]
    public void TablePointerOutsideMemory_IsInvalidTablePointer()
    {
        _memory.WriteUInt64(Pde, 0x7000_0003); // SL-PDE pointing below the region
        WalkResult w = _table.Walk(0x1000);
        Assert.Equal((WalkStatus.InvalidTablePointer, 1, 0x7000_0000UL), (w.Status, w.Level, w.Entry));
    }

    [Fact]
    public void IovaBeyondWidth_Faults()
        => Assert.Equal(WalkStatus.AddressBeyondWidth, _table.Walk(1UL << 48).Status);
}
