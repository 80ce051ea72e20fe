using Siov.Fast.Drivers.IntelVtd;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.PageTables;

/// <summary>
/// The builder writing first-level (IA-32e) tables: the entries it writes, checked bit by bit against VT-d spec 9.7,
/// and the intel-iommu driver programming them (PGTT 001b) so the unit's first-level walk translates what was mapped.
/// </summary>
public sealed class FirstLevelTableTests
{
    private const ulong P = 1, RW = 1 << 1, US = 1 << 2, PS = 1 << 7;

    [Fact]
    public void Leaves_and_links_carry_P_US_and_RW_as_linux_writes_them()
    {
        using var memory = new PhysicalMemory(16UL << 20);
        using var table = new SecondLevelPageTable(memory, new SecondLevelFormat { Stage = PageTableStage.FirstLevel });
        table.Map(0x1000, 0x40_0000, 0x1000, DmaProtection.Read);
        table.Map(0x2000, 0x50_0000, 0x1000, DmaProtection.Write);       // write-only: readable too in IA-32e
        table.Map(0x20_0000, 0x60_0000, 0x20_0000, DmaProtection.ReadWrite);
        ulong pml4e = memory.ReadUInt64(table.RootHpa);
        Assert.Equal(P | RW | US, pml4e & 0xFFF);
        ulong pdpt = pml4e & 0x000F_FFFF_FFFF_F000UL;
        ulong pd = memory.ReadUInt64(pdpt) & 0x000F_FFFF_FFFF_F000UL;
        ulong pt = memory.ReadUInt64(pd) & 0x000F_FFFF_FFFF_F000UL;
        Assert.Equal(0x40_0000UL | P | US, memory.ReadUInt64(pt + 8));
        Assert.Equal(0x50_0000UL | P | RW | US, memory.ReadUInt64(pt + 16));
        Assert.Equal(0x60_0000UL | P | RW | US | PS, memory.ReadUInt64(pd + 8));
        Assert.Throws<IommuException>(() => new SecondLevelPageTable(memory, new SecondLevelFormat { Stage = PageTableStage.FirstLevel, Levels = 3 }));
    }

    [Fact]
    public void The_driver_programs_a_first_level_entry_that_the_unit_walks()
    {
        using var memory = new PhysicalMemory(32UL << 20);
        using var unit = RemappingUnit.CreateAtReset(memory, UnitPresets.ScalableCapability.Encode(), UnitPresets.ScalableExtendedCapability.Encode());
        var driver = new IntelIommu(unit, memory);
        using var table = new SecondLevelPageTable(memory, new SecondLevelFormat { Stage = PageTableStage.FirstLevel, Levels = 5 });
        table.Map(0x00AB_0000_0000_0000, 0x80_0000, 0x20_0000, DmaProtection.ReadWrite);
        driver.SetDevicePasid(0x0100, 3, 9, table);
        TranslationResult r = unit.Translate(new DmaRequest(0x0100, 3, 0x00AB_0000_0001_2345, DmaAccess.Write));
        Assert.True(r.IsSuccess, r.ToString());
        Assert.Equal((0x81_2345UL, 2UL << 20), (r.Hpa, (ulong)r.PageSize));
        // Unmap, then the driver's page-selective flush: the unit forgets the translation.
        table.Unmap(0x00AB_0000_0000_0000, 0x20_0000);
        driver.FlushIotlbRange(9, 3, 0x00AB_0000_0000_0000, 0x20_0000);
        Assert.Equal(FaultReason.SmFirstLevelNotPresent, unit.Translate(new DmaRequest(0x0100, 3, 0x00AB_0000_0001_2345, DmaAccess.Read)).Fault);

        // A second-level table is refused where a first-level one is asked for, and the other way round in legacy mode.
        using var second = new SecondLevelPageTable(memory);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => driver.SetupPasidFirstLevel(0x0100, 4, 9, second)).Code);
    }
}
