using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;
using Siov.Fast.Tests.Hardware.SmmuV3;

namespace Siov.Fast.Tests.PageTables;

/// <summary>
/// The page-table builder in the AArch64 formats (io-pgtable-arm's role): leaf descriptors checked bit by bit against
/// the Arm ARM's layout, and the tables used by the SMMUv3 model through the architecture-only spec driver.
/// </summary>
public sealed class ArmPageTableTests : IDisposable
{
    private readonly PhysicalMemory _memory = new(64UL << 20);

    public void Dispose() => _memory.Dispose();

    private ulong Slot(ulong root, int levels, ulong va, int leafLevel)
    {
        ulong table = root;
        for (int level = 4 - levels; level < leafLevel; level++)
            table = _memory.ReadUInt64(table + ((va >> (12 + 9 * (3 - level))) & 511) * 8) & 0xFFFF_FFFF_F000;
        return table + ((va >> (12 + 9 * (3 - leafLevel))) & 511) * 8;
    }

    [Fact]
    public void Stage1LeavesHaveTheArmLayout()
    {
        using var table = new SecondLevelPageTable(_memory, new SecondLevelFormat { Stage = PageTableStage.ArmStage1, Levels = 4 });
        table.Map(0x1000, 0x40_1000, 0x1000, DmaProtection.ReadWrite);
        table.Map(0x20_0000, 0x60_0000, 0x20_0000, DmaProtection.Read);
        // Page: bits 1:0 = 11, AttrIndx 0, AP[1] (bit 6) user, AP[2] clear, AF (bit 10), PXN (53) and UXN (54).
        Assert.Equal(0x40_1000UL | 0b11 | 1UL << 6 | 1UL << 10 | 1UL << 53 | 1UL << 54, _memory.ReadUInt64(Slot(table.RootHpa, 4, 0x1000, 3)));
        // Block at level 2: bits 1:0 = 01, AP[2] (bit 7) read-only.
        Assert.Equal(0x60_0000UL | 0b01 | 1UL << 6 | 1UL << 7 | 1UL << 10 | 1UL << 53 | 1UL << 54, _memory.ReadUInt64(Slot(table.RootHpa, 4, 0x20_0000, 2)));
        Assert.Equal(0x40_1234UL, table.IovaToPhys(0x1234));
        Assert.Equal(DmaProtection.Read, table.Walk(0x20_0010).Permissions);
        Assert.Equal([0x1000UL, 0x20_0000UL], table.GetMappings().Select(m => m.Iova));
    }

    [Fact]
    public void Stage2LeavesHaveTheArmLayout()
    {
        using var table = new SecondLevelPageTable(_memory, new SecondLevelFormat { Stage = PageTableStage.ArmStage2, Levels = 3 });
        table.Map(0x1000, 0x40_1000, 0x1000, DmaProtection.Write);
        // S2AP bit 7 (write) only, AF, XN = 10b (bits 54:53).
        Assert.Equal(0x40_1000UL | 0b11 | 1UL << 7 | 1UL << 10 | 1UL << 54, _memory.ReadUInt64(Slot(table.RootHpa, 3, 0x1000, 3)));
        Assert.Equal(WalkStatus.ReadDenied, table.Walk(0x1000, DmaAccess.Read).Status);
        Assert.Equal(1UL, table.Unmap(0x1000, 0x1000) >> 12);
        Assert.Equal(0UL, table.IovaToPhys(0x1000));
    }

    [Fact]
    public void FiveLevelsAndWideHostAddressesAreRefused()
    {
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() =>
            new SecondLevelPageTable(_memory, new SecondLevelFormat { Stage = PageTableStage.ArmStage1, Levels = 5 })).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() =>
            new SecondLevelPageTable(_memory, new SecondLevelFormat { Stage = PageTableStage.ArmStage2, HostAddressWidth = 52 })).Code);
        using var table = new SecondLevelPageTable(_memory, new SecondLevelFormat { Stage = PageTableStage.ArmStage1 });
        Assert.Equal(Errno.EOPNOTSUPP, Assert.Throws<IommuException>(() => table.ReadAndClearDirty(0, 0x1000)).Code);
    }

    [Fact]
    public void TheSmmuTranslatesThroughBuilderMadeTables()
    {
        using var smmu = new Smmu(_memory);
        var driver = new SmmuSpecDriver(smmu, _memory);
        driver.Boot();
        using var s1 = new SecondLevelPageTable(_memory, new SecondLevelFormat { Stage = PageTableStage.ArmStage1 });
        using var s2 = new SecondLevelPageTable(_memory, new SecondLevelFormat { Stage = PageTableStage.ArmStage2, Levels = 3 });
        s1.Map(0x7000_0000, 0x20_0000, 0x20_0000, DmaProtection.ReadWrite);
        ulong cd = _memory.Frames.Allocate();
        SmmuSpecDriver.WriteCd(_memory, cd, s1.RootHpa, asid: 5);
        driver.WriteSte(1, 5, cd);
        Assert.Equal(0x21_2345UL, smmu.Translate(new DmaRequest(1, null, 0x7001_2345, DmaAccess.Write)).Hpa);

        // Stage 2 alone: a 39-bit IPA starting at level 1 (S2SL0 = 1).
        s2.Map(0x4000_0000, 0x30_0000, 0x1000, DmaProtection.Read);
        driver.WriteSte(2, 6, vmid: 2, s2ttb: s2.RootHpa, s2InputBits: 39, s2sl0: 1);
        Assert.Equal(0x30_0008UL, smmu.Translate(new DmaRequest(2, null, 0x4000_0008, DmaAccess.Read)).Hpa);
        Assert.Equal(SmmuEventType.Permission, Smmu.EventOf(smmu.Translate(new DmaRequest(2, null, 0x4000_0008, DmaAccess.Write))));

        s1.Unmap(0x7000_0000, 0x20_0000);
        Assert.True(driver.SubmitAndSync(SmmuSpecDriver.TlbiNhAsid(5)));
        Assert.Equal(SmmuEventType.Translation, Smmu.EventOf(smmu.Translate(new DmaRequest(1, null, 0x7001_2345, DmaAccess.Read))));
    }
}
