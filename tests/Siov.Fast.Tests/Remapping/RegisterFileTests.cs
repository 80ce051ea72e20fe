// The tests reach the unit through the interface a driver sees, on purpose.
#pragma warning disable CA1859
using Siov.Fast.Hardware;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;
using Siov.Fast.Hardware.Vtd;

namespace Siov.Fast.Tests.Remapping;

/// <summary>
/// The unit's register file through <see cref="IMmioRegion"/>, checked against values worked out by hand from
/// the VT-d specification's register layouts (chapter 11): reset state, the booted state of a self-programmed
/// unit, primary fault recording with overflow and events, and access checks. The boot of a unit by a driver
/// written from the spec alone is in tests/Siov.Fast.Tests/Hardware.
/// </summary>
public sealed class RegisterFileTests : IDisposable
{
    private readonly PhysicalMemory _memory = new(16UL << 20);

    public void Dispose() => _memory.Dispose();

    private RemappingUnit AtReset() => RemappingUnit.CreateAtReset(_memory, UnitPresets.ScalableCapability.Encode(),
        UnitPresets.ScalableExtendedCapability.Encode(), new RemappingUnitOptions { IotlbCapacity = 1024 });

    [Fact]
    public void Reset_NothingIsOn_AndDmaPassesThroughUntranslated()
    {
        using RemappingUnit unit = AtReset();
        IMmioRegion mmio = unit;
        Assert.Equal(0x10UL, mmio.Read(0x00, 4));                                   // VER 1.0
        Assert.Equal(UnitPresets.ScalableCapability.Encode(), mmio.Read(0x08, 8));
        Assert.Equal(UnitPresets.ScalableExtendedCapability.Encode(), mmio.Read(0x10, 8));
        Assert.Equal(0UL, mmio.Read(0x1C, 4));                                      // GSTS
        Assert.Equal(0x8000_0000UL, mmio.Read(0x38, 4));                            // FECTL.IM
        Assert.Equal(0UL, mmio.Read(0x34, 4));                                      // FSTS
        TranslationResult r = unit.Translate(0x0100, null, 0x1234_5678, DmaAccess.Write);
        Assert.True(r.IsSuccess);
        Assert.Equal(0x1234_5678UL, r.Hpa);
        // The 8-byte read of CAP is its two 4-byte halves.
        Assert.Equal(mmio.Read(0x08, 8), mmio.Read(0x08, 4) | mmio.Read(0x0C, 4) << 32);
    }

    [Fact]
    public void SelfBootedUnit_ShowsRootTableAndTranslationInItsRegisters()
    {
        using var unit = new RemappingUnit(_memory, UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability,
            new RemappingUnitOptions { IotlbCapacity = 1024 });
        IMmioRegion mmio = unit;
        Assert.Equal(0xC000_0000UL, mmio.Read(0x1C, 4));        // TES | RTPS
        Assert.Equal(unit.RootTableAddress, mmio.Read(0x20, 8)); // RTA | TTM 01b
        Assert.Equal(1UL, (mmio.Read(0x20, 8) >> 10) & 3);
        Assert.Equal(0UL, mmio.Read(0x18, 4));                  // GCMD reads 0
    }

    [Fact]
    public void Faults_FillTheRecordingRegisters_ThenOverflow_AndRaiseOneEventWhileOnePending()
    {
        using var unit = new RemappingUnit(_memory, UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability,
            new RemappingUnitOptions { IotlbCapacity = 1024 });
        IMmioRegion mmio = unit;
        var events = new List<FaultEventInfo>();
        unit.FaultEvent += (_, e) => events.Add(e);
        ulong frcd = 0x40 * 16; // CAP.FRO 0x40
        // No context entry: a write without PASID from 03:00.1 faults.
        unit.Translate(0x0301, null, 0x7000_1234, DmaAccess.Write);
        Assert.Empty(events); // FECTL.IM is set at reset: the event is pending
        Assert.Equal(0xC000_0000UL, mmio.Read(0x38, 4));        // IM | IP
        ulong low = mmio.Read(frcd, 8), high = mmio.Read(frcd + 8, 8);
        Assert.Equal(0x7000_1000UL, low);                        // FI: the page
        Assert.Equal(1UL, high >> 63);                           // F
        Assert.Equal(0UL, (high >> 62) & 1);                     // T1 = 0: a write
        Assert.Equal(0x0301UL, high & 0xFFFF);                   // SID
        Assert.Equal((ulong)(byte)unit.Translate(0x0301, null, 0x7000_1234, DmaAccess.Write).Fault, (high >> 32) & 0xFF);
        ulong status = mmio.Read(0x34, 4);
        Assert.Equal(2UL, status & 3);                           // PPF, no PFO
        Assert.Equal(0UL, (status >> 8) & 0xFF);                 // FRI: the first pending fault's record, though two are taken
        mmio.Write(0x38, 4, 0);                                  // unmask: the pending event is delivered
        Assert.Single(events);
        // Six more faults fill the other records (8 in all); the ninth overflows.
        for (ulong i = 0; i < 7; i++)
            unit.Translate(0x0301, 5, 0x1000 * i, DmaAccess.Read);
        status = mmio.Read(0x34, 4);
        Assert.Equal(3UL, status & 3);                           // PPF | PFO
        Assert.Equal(1UL, (mmio.Read(frcd + 2 * 16 + 8, 8) >> 62) & 1); // a read: T1 = 1
        Assert.Equal(1UL, (mmio.Read(frcd + 2 * 16 + 8, 8) >> 31) & 1); // PP
        Assert.Equal(5UL, (mmio.Read(frcd + 2 * 16 + 8, 8) >> 40) & 0xFFFFF); // PV
        // Clearing record 0 (write 1 to F) and PFO lets the next fault in, at FRI (record 0).
        mmio.Write(frcd + 8, 8, 1UL << 63);
        Assert.Equal(0UL, mmio.Read(frcd + 8, 8) >> 63);
        mmio.Write(0x34, 4, 1);
        Assert.Equal(0UL, mmio.Read(0x34, 4) & 1);
        unit.Translate(0x0302, null, 0x9000, DmaAccess.Read);
        Assert.Equal(0x0302UL, mmio.Read(frcd + 8, 8) & 0xFFFF);
        // No further event: PPF stayed set throughout (VT-d spec 7.3), and an overflow is no event of its own.
        Assert.Single(events);
    }

    [Fact]
    public void TranslationDisable_FlushesCaches_AndPassesThrough()
    {
        using var unit = new RemappingUnit(_memory, UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability,
            new RemappingUnitOptions { IotlbCapacity = 1024 });
        using var table = new SecondLevelPageTable(_memory);
        table.Map(0x1000, 0x5000_0000, 0x1000, DmaProtection.ReadWrite);
        unit.AttachDevice(0x0100, 3, table);
        Assert.Equal(0x5000_0010UL, unit.Translate(0x0100, null, 0x1010, DmaAccess.Read).Hpa);
        IMmioRegion mmio = unit;
        mmio.Write(0x18, 4, 0x4000_0000 & 0);                   // GCMD without TE: translation off
        Assert.Equal(0UL, mmio.Read(0x1C, 4) >> 31);
        Assert.Equal(0x1010UL, unit.Translate(0x0100, null, 0x1010, DmaAccess.Read).Hpa);
        mmio.Write(0x18, 4, 0x8000_0000);                       // TE again: the tables are read anew
        Assert.Equal(0x5000_0010UL, unit.Translate(0x0100, null, 0x1010, DmaAccess.Read).Hpa);
    }

    [Theory]
    [InlineData(0x00UL, 2)]
    [InlineData(0x02UL, 4)]
    [InlineData(0x0FFCUL, 8)]
    [InlineData(0x1000UL, 4)]
    public void BadAccesses_AreEinval(ulong offset, int size)
    {
        using RemappingUnit unit = AtReset();
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => ((IMmioRegion)unit).Read(offset, size)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => ((IMmioRegion)unit).Write(offset, size, 0)).Code);
    }
}
