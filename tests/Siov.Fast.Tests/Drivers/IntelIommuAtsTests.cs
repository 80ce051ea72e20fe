using Siov.Fast.Ats;
using Siov.Fast.Drivers.IntelVtd;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.Memory;

namespace Siov.Fast.Tests.Drivers;

/// <summary>
/// The driver's side of ATS: it enables ATS at probe for a function that has it (DTE in the context entry), and follows
/// every IOTLB invalidation for the function's domains with a device-TLB invalidation, so that an unmap reaches the
/// function's ATC (what seed 004 does on aux detach). A function without ATS gets UR for its translation requests; a
/// function that never answers costs the driver an invalidation time-out, not a hang.
/// </summary>
public sealed class IntelIommuAtsTests : IDisposable
{
    private readonly PhysicalMemory _memory = new(64UL << 20);
    private readonly RemappingUnit _unit;
    private readonly IommuCore _core;

    public IntelIommuAtsTests() : this(TimeSpan.FromMinutes(1))
    {
    }

    private IntelIommuAtsTests(TimeSpan timeout)
    {
        _unit = new RemappingUnit(_memory, UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability,
            new RemappingUnitOptions { DeviceTlbInvalidationTimeout = timeout });
        _core = new IommuCore(_memory);
        _core.AddUnit(_unit);
    }

    public void Dispose()
    {
        _core.Dispose();
        _unit.Dispose();
        _memory.Dispose();
    }

    private (PciDevice Device, IommuDomain Domain) Attached(string address, PciDeviceCapabilities caps)
    {
        PciDevice device = _core.AddPciDevice(PciAddress.Parse(address), _unit, caps);
        IommuDomain domain = _core.DomainAlloc(IommuDomainType.Unmanaged);
        _core.AttachDevice(domain, device);
        return (device, domain);
    }

    [Fact]
    public void UnmapReachesTheFunctionsAtc()
    {
        (PciDevice device, IommuDomain domain) = Attached("00:04.0", new PciDeviceCapabilities { Ats = true });
        Assert.True(device.AtsEnabled);
        ulong hpa = _memory.Frames.Allocate();
        domain.Map(0x20_0000, hpa, 0x1000, DmaProtection.ReadWrite);
        using var atc = new DeviceTlb(_unit, device.RequesterId);
        var read = new DmaRequest(device.RequesterId, null, 0x20_0010, DmaAccess.Read);
        Assert.Equal(AtcOutcome.Filled, atc.Translate(read, out TranslationResult filled));
        Assert.Equal(hpa + 0x10, filled.Hpa);
        Assert.True(_unit.Translate(DmaRequest.Translated(device.RequesterId, null, filled.Hpa, DmaAccess.Read)).IsSuccess);

        domain.Unmap(0x20_0000, 0x1000);
        Assert.Equal(1, atc.InvalidationRequests);
        Assert.False(atc.TryTranslate(read, out _)); // without the device-TLB invalidation the ATC would still hit
        Assert.Equal(AtcOutcome.NotPresent, atc.Translate(read, out _));
    }

    [Fact]
    public void DetachInvalidatesTheWholeAtc()
    {
        (PciDevice device, IommuDomain domain) = Attached("00:04.0", new PciDeviceCapabilities { Ats = true });
        domain.Map(0x20_0000, _memory.Frames.Allocate(), 0x1000, DmaProtection.ReadWrite);
        using var atc = new DeviceTlb(_unit, device.RequesterId);
        atc.Translate(new DmaRequest(device.RequesterId, null, 0x20_0000, DmaAccess.Read), out _);
        _core.DetachDevice(domain, device);
        Assert.Equal(0, atc.Count);
    }

    [Fact]
    public void FunctionWithoutAtsIsRefusedTranslationRequests()
    {
        (PciDevice device, IommuDomain domain) = Attached("00:05.0", PciDeviceCapabilities.None);
        Assert.False(device.AtsEnabled);
        domain.Map(0x20_0000, _memory.Frames.Allocate(), 0x1000, DmaProtection.ReadWrite);
        AtsCompletion c = _unit.TranslateForAts(new DmaRequest(device.RequesterId, null, 0x20_0000, DmaAccess.Read));
        Assert.Equal(AtsCompletionStatus.UnsupportedRequest, c.Status);
        Assert.Equal(FaultReason.SmDeviceTlbDisabled, c.Fault);
        Assert.False(_unit.Translate(DmaRequest.Translated(device.RequesterId, null, 0x1000, DmaAccess.Read)).IsSuccess);
    }

    [Fact]
    public void HungFunctionCostsATimeoutNotAHang()
    {
        using var test = new IntelIommuAtsTests(TimeSpan.FromMilliseconds(20));
        (PciDevice device, IommuDomain domain) = test.Attached("00:04.0", new PciDeviceCapabilities { Ats = true });
        domain.Map(0x20_0000, test._memory.Frames.Allocate(), 0x1000, DmaProtection.ReadWrite);
        using var atc = new DeviceTlb(test._unit, device.RequesterId) { Answers = DeviceTlbAnswers.Never };
        domain.Unmap(0x20_0000, 0x1000);
        var driver = (IntelIommu)test._core.GetDriver(test._unit);
        Assert.Equal(1, driver.DeviceTlbTimeouts);
        Assert.Equal(0UL, ((Siov.Fast.Hardware.IMmioRegion)test._unit).Read(VtdRegisters.FaultStatusOffset, 4) & VtdRegisters.FaultStatus.InvalidationTimeoutError.Mask);

        // The driver cleared ITE: the next invalidation goes through once the function answers again.
        atc.Answers = DeviceTlbAnswers.Immediately;
        domain.Map(0x20_0000, test._memory.Frames.Allocate(), 0x1000, DmaProtection.ReadWrite);
        domain.Unmap(0x20_0000, 0x1000);
        Assert.Equal(1, driver.DeviceTlbTimeouts);
    }
}
