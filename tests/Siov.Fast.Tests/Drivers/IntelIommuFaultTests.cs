using Siov.Fast.Drivers.IntelVtd;
using Siov.Fast.Hardware;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Memory;

namespace Siov.Fast.Tests.Drivers;

/// <summary>
/// The driver's fault interrupt handler (dmar_fault): every fault the unit records in its fault recording registers
/// reaches the driver's log, with the fields Linux prints, and the registers are left clear (PPF off), so that more
/// faults than the unit has records are all seen. Without the handler the unit's 8 records fill and overflow.
/// </summary>
public sealed class IntelIommuFaultTests : IDisposable
{
    private readonly PhysicalMemory _memory = new(16UL << 20);

    public void Dispose() => _memory.Dispose();

    [Fact]
    public void EveryFault_ReachesTheDriversLog_AndTheRecordsAreCleared()
    {
        using RemappingUnit unit = RemappingUnit.CreateAtReset(_memory, UnitPresets.ScalableCapability.Encode(),
            UnitPresets.ScalableExtendedCapability.Encode(), new RemappingUnitOptions { IotlbCapacity = 1024 });
        var driver = new IntelIommu(unit, _memory);
        for (ulong i = 0; i < 20; i++) // 20 faults, 8 fault recording registers
            unit.Translate(0x0300, i % 2 == 0 ? null : 7, 0x1000 * i + 0x12, i % 3 == 0 ? DmaAccess.Write : DmaAccess.Read);

        IReadOnlyList<FaultRecord> faults = driver.Faults.Peek();
        Assert.Equal(20, faults.Count);
        Assert.All(faults, f => Assert.Equal(0x0300, f.SourceId));
        Assert.Equal(0x1000UL, faults[1].Address);
        Assert.True(faults[1].HasPasid);
        Assert.Equal(7u, faults[1].Pasid);
        Assert.True(faults[0].IsWrite);
        Assert.False(faults[1].IsWrite);
        Assert.StartsWith("DMAR: [DMA Write NO_PASID] Request device [03:00.0] fault addr 0x0", faults[0].ToLinuxString(), StringComparison.Ordinal);
        Assert.Equal(0UL, ((IMmioRegion)unit).Read(0x34, 4) & 3); // no PPF, no PFO left
    }
}
