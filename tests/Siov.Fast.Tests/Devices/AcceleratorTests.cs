using Siov.Fast.Ats;
using Siov.Fast.Devices;
using Siov.Fast.Drivers.IntelVtd;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.Devices;

/// <summary>
/// The reference accelerator: work queues per PASID whose DMA goes through the function's ATC, with page requests for
/// missing pages. Data is checked in memory word by word; the ATC must follow unmaps (the driver's device-TLB
/// invalidations), or the device would write into a page the domain no longer maps.
/// </summary>
public sealed class AcceleratorTests : IDisposable
{
    private const uint SvaPasid = 1, IovaPasid = 2;
    private readonly PhysicalMemory _memory = new(64UL << 20);
    private readonly RemappingUnit _unit;
    private readonly IommuCore _core;
    private readonly PciDevice _function;
    private readonly IommuDomain _sva;    // first-level tables, as a process's would be
    private readonly IommuDomain _iova;   // second-level tables
    private readonly Accelerator _device;

    public AcceleratorTests() : this(null)
    {
    }

    private AcceleratorTests(AcceleratorOptions? options)
    {
        _unit = new RemappingUnit(_memory, UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability);
        _core = new IommuCore(_memory);
        _core.AddUnit(_unit);
        _function = _core.AddPciDevice(PciAddress.Parse("06:00.0"), _unit, PciDeviceCapabilities.ScalableIov);
        _sva = _core.DomainAlloc(IommuDomainType.Unmanaged, new SecondLevelFormat { Stage = PageTableStage.FirstLevel, Levels = 4 });
        _iova = _core.DomainAlloc(IommuDomainType.Unmanaged);
        _core.AttachDevicePasid(_sva, _function, SvaPasid);
        _core.AttachDevicePasid(_iova, _function, IovaPasid);
        _device = new Accelerator(_unit, _memory, _function.RequesterId, options);
    }

    public void Dispose()
    {
        _device.Dispose();
        _core.Dispose();
        _unit.Dispose();
        _memory.Dispose();
    }

    private ulong Frame(ulong fill)
    {
        ulong frame = _memory.Frames.Allocate();
        for (ulong i = 0; i < 0x1000; i += 8)
            _memory.WriteUInt64(frame + i, fill + i);
        return frame;
    }

    [Fact]
    public void MoveCopiesThroughTheAtcAndHitsTheSecondTime()
    {
        ulong source = Frame(0x1000_0000), destination = Frame(0);
        _sva.Map(0x7000_0000, source, 0x1000, DmaProtection.Read);
        _sva.Map(0x7001_0000, destination, 0x1000, DmaProtection.ReadWrite);
        WorkQueue queue = _device.CreateWorkQueue(SvaPasid);

        CompletionRecord record = queue.Submit(WorkDescriptor.Move(0x7000_0000, 0x7001_0000, 0x1000));
        Assert.Equal(new CompletionRecord(CompletionStatus.Success, 0x1000, 0, 0), record);
        for (ulong i = 0; i < 0x1000; i += 8)
            Assert.Equal(0x1000_0000 + i, _memory.ReadUInt64(destination + i));
        Assert.Equal(2, _device.Atc.TranslationRequests);

        queue.Submit(WorkDescriptor.Fill(0x7001_0000, 0x100, 0xABCD));
        Assert.Equal(2, _device.Atc.TranslationRequests); // an ATC hit
        Assert.Equal(0xABCDUL, _memory.ReadUInt64(destination + 0xF8));
    }

    [Fact]
    public void MissingPageIsBroughtInByThePageFaultHandler()
    {
        ulong source = Frame(0x2000_0000);
        _iova.Map(0x10_0000, source, 0x1000, DmaProtection.Read);
        ulong faulted = 0;
        _iova.IopfHandler = group =>
        {
            faulted = _memory.Frames.Allocate();
            _iova.Map(group.Requests[0].Address, faulted, 0x1000, DmaProtection.ReadWrite);
            group.Respond(PageResponseCode.Success);
        };
        WorkQueue queue = _device.CreateWorkQueue(IovaPasid);

        CompletionRecord record = queue.Submit(WorkDescriptor.Move(0x10_0000, 0x20_0000, 0x1000));
        Assert.Equal(CompletionStatus.Success, record.Status);
        Assert.Equal(1, record.PageRequests);
        Assert.Equal(0x2000_0000UL + 0x800, _memory.ReadUInt64(faulted + 0x800));
        string line = Assert.Single(((IntelIommu)_core.GetDriver(_unit)).PageRequestLog);
        Assert.EndsWith("rid=0x600 addr=0x200 -w--l pasid=0x2 index=0x0", line, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidResponseEndsTheDescriptorWithAPageFault()
    {
        _iova.IopfHandler = group => group.Respond(PageResponseCode.InvalidRequest);
        WorkQueue queue = _device.CreateWorkQueue(IovaPasid);
        CompletionRecord record = queue.Submit(WorkDescriptor.Fill(0x30_0000, 64, 1));
        Assert.Equal(new CompletionRecord(CompletionStatus.PageFault, 0, 0x30_0000, 1), record);
        Assert.Equal(1, queue.Faulted);
    }

    [Fact]
    public void WithoutPriAMissingPageIsAPageFaultAtOnce()
    {
        using var test = new AcceleratorTests(new AcceleratorOptions { PageRequests = false });
        WorkQueue queue = test._device.CreateWorkQueue(IovaPasid);
        Assert.Equal(new CompletionRecord(CompletionStatus.PageFault, 0, 0x30_0000, 0), queue.Submit(WorkDescriptor.Fill(0x30_0000, 64, 1)));
        Assert.Equal(0, test._device.PageRequests);
    }

    /// <summary>After an unmap and a remap elsewhere, the device writes the new page, not the old one: the driver's
    /// device-TLB invalidation reached the ATC. Fails if the driver stops sending device-TLB invalidations.</summary>
    [Fact]
    public void UnmapReachesTheAtcSoTheOldPageIsNotWritten()
    {
        ulong old = Frame(0), fresh = Frame(0);
        _iova.Map(0x40_0000, old, 0x1000, DmaProtection.ReadWrite);
        WorkQueue queue = _device.CreateWorkQueue(IovaPasid);
        Assert.Equal(CompletionStatus.Success, queue.Submit(WorkDescriptor.Fill(0x40_0000, 8, 0x1111)).Status);
        Assert.Equal(0x1111UL, _memory.ReadUInt64(old));

        _iova.Unmap(0x40_0000, 0x1000);
        _iova.Map(0x40_0000, fresh, 0x1000, DmaProtection.ReadWrite);
        Assert.Equal(CompletionStatus.Success, queue.Submit(WorkDescriptor.Fill(0x40_0000, 8, 0x2222)).Status);
        Assert.Equal(0x1111UL, _memory.ReadUInt64(old));
        Assert.Equal(0x2222UL, _memory.ReadUInt64(fresh));
    }

    [Fact]
    public void ReadOnlyDestinationIsAPageFaultAfterTheHostRefuses()
    {
        ulong page = Frame(0);
        _iova.Map(0x50_0000, page, 0x1000, DmaProtection.Read);
        _iova.IopfHandler = group => group.Respond(PageResponseCode.InvalidRequest);
        WorkQueue queue = _device.CreateWorkQueue(IovaPasid);
        CompletionRecord record = queue.Submit(WorkDescriptor.Fill(0x50_0000, 8, 9));
        Assert.Equal(CompletionStatus.PageFault, record.Status);
        Assert.Equal(0UL, _memory.ReadUInt64(page));
    }

    [Fact]
    public void MisalignedDescriptorIsRefusedBeforeAnyDma()
    {
        WorkQueue queue = _device.CreateWorkQueue(IovaPasid);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => queue.Submit(WorkDescriptor.Fill(0x50_0004, 8, 9))).Code);
        Assert.Equal(Errno.EEXIST, Assert.Throws<IommuException>(() => _device.CreateWorkQueue(IovaPasid)).Code);
        Assert.Equal(0, _device.Atc.TranslationRequests);
    }

    [Fact]
    public void FunctionWithoutAtsGetsTranslationErrors()
    {
        PciDevice plain = _core.AddPciDevice(PciAddress.Parse("07:00.0"), _unit, PciDeviceCapabilities.None with { PasidWidth = 20 });
        IommuDomain domain = _core.DomainAlloc(IommuDomainType.Unmanaged);
        _core.AttachDevicePasid(domain, plain, 3);
        domain.Map(0x1000, Frame(0), 0x1000, DmaProtection.ReadWrite);
        using var device = new Accelerator(_unit, _memory, plain.RequesterId);
        CompletionRecord record = device.CreateWorkQueue(3).Submit(WorkDescriptor.Fill(0x1000, 8, 1));
        Assert.Equal(CompletionStatus.TranslationError, record.Status);
    }
}
