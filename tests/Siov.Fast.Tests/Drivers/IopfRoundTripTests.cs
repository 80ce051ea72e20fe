using Siov.Fast.Ats;
using Siov.Fast.Drivers.IntelVtd;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.Memory;

namespace Siov.Fast.Tests.Drivers;

/// <summary>
/// A PRI round trip through every layer: a function's ATC gets R = W = 0 for a page, the function sends a page request,
/// the unit queues it, intel-iommu's page request handler reads it and logs it as Linux's <c>prq_report</c> does, the
/// core hands the group to the domain's I/O page fault handler, which maps the page and answers; the page group response
/// reaches the function, which retries and now translates. An "invalid" answer leaves the page absent.
/// </summary>
public sealed class IopfRoundTripTests : IDisposable
{
    private const uint Pasid = 5;
    private readonly PhysicalMemory _memory = new(64UL << 20);
    private readonly RemappingUnit _unit;
    private readonly IommuCore _core;
    private readonly PciDevice _device;
    private readonly IommuDomain _domain;
    private readonly DeviceTlb _atc;
    private readonly List<PageGroupResponse> _responses = [];

    public IopfRoundTripTests()
    {
        _unit = new RemappingUnit(_memory, UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability);
        _core = new IommuCore(_memory);
        _core.AddUnit(_unit);
        _device = _core.AddPciDevice(PciAddress.Parse("03:00.0"), _unit, PciDeviceCapabilities.ScalableIov);
        _domain = _core.DomainAlloc(IommuDomainType.Unmanaged);
        _core.AttachDevicePasid(_domain, _device, Pasid);
        _atc = new DeviceTlb(_unit, _device.RequesterId);
        _atc.PageGroupResponseReceived += (_, r) => _responses.Add(r);
    }

    public void Dispose()
    {
        _atc.Dispose();
        _core.Dispose();
        _unit.Dispose();
        _memory.Dispose();
    }

    private DmaRequest Write(ulong iova) => new(_device.RequesterId, Pasid, iova, DmaAccess.Write);

    private PageRequest PageRequestFor(ulong iova, int index) =>
        new(_device.RequesterId, Pasid, iova, Read: false, Write: true, Execute: false, Privileged: false, index, LastInGroup: true);

    [Fact]
    public void HandlerMapsThePageAndTheRetrySucceeds()
    {
        ulong frame = _memory.Frames.Allocate();
        _domain.IopfHandler = group =>
        {
            foreach (PageRequest r in group.Requests)
                _domain.Map(r.Address & ~0xFFFUL, frame, 0x1000, DmaProtection.ReadWrite);
            group.Respond(PageResponseCode.Success);
        };
        Assert.Equal(AtcOutcome.NotPresent, _atc.Translate(Write(0x40_0008), out _));

        _unit.SendPageRequest(PageRequestFor(0x40_0008, index: 1));
        Assert.Equal(new PageGroupResponse(_device.RequesterId, Pasid, 1, PageResponseCode.Success), Assert.Single(_responses));
        Assert.Equal(AtcOutcome.Filled, _atc.Translate(Write(0x40_0008), out TranslationResult retried));
        Assert.Equal(frame + 8, retried.Hpa);

        var driver = (IntelIommu)_core.GetDriver(_unit);
        Assert.Equal("dmar0/0000:03:00.0 seq# 1: rid=0x300 addr=0x400 -w--l pasid=0x5 index=0x1", Assert.Single(driver.PageRequestLog));
        Assert.Equal(0L, _core.UnhandledPageRequestGroups);
    }

    [Fact]
    public void InvalidAnswerLeavesThePageAbsent()
    {
        _domain.IopfHandler = group => group.Respond(PageResponseCode.InvalidRequest);
        _unit.SendPageRequest(PageRequestFor(0x40_0000, index: 2));
        Assert.Equal(PageResponseCode.InvalidRequest, Assert.Single(_responses).Code);
        Assert.Equal(AtcOutcome.NotPresent, _atc.Translate(Write(0x40_0000), out TranslationResult r));
        Assert.False(r.IsSuccess);
    }

    [Fact]
    public void GroupGoesToTheHandlerOnlyWithItsLastRequest()
    {
        var groups = new List<IopfGroup>();
        _domain.IopfHandler = groups.Add;
        _unit.SendPageRequest(PageRequestFor(0x40_0000, 7) with { LastInGroup = false });
        _unit.SendPageRequest(PageRequestFor(0x40_1000, 7) with { LastInGroup = false });
        Assert.Empty(groups);
        _unit.SendPageRequest(PageRequestFor(0x40_2000, 7));
        IopfGroup group = Assert.Single(groups);
        Assert.Equal([0x40_0000UL, 0x40_1000UL, 0x40_2000UL], group.Requests.Select(r => r.Address));
        Assert.Empty(_responses); // kept: the handler answers later
        Assert.True(group.Respond(PageResponseCode.Success));
        Assert.False(group.Respond(PageResponseCode.InvalidRequest));
        Assert.Equal(PageResponseCode.Success, Assert.Single(_responses).Code);
    }

    [Fact]
    public void NoHandlerIsAnsweredInvalid()
    {
        _unit.SendPageRequest(PageRequestFor(0x40_0000, 3));
        Assert.Equal(PageResponseCode.InvalidRequest, Assert.Single(_responses).Code);
        Assert.Equal(1L, _core.UnhandledPageRequestGroups);
    }

    [Fact]
    public void ThrowingHandlerIsAnsweredInvalidAndCounted()
    {
        _domain.IopfHandler = _ => throw new InvalidOperationException("handler bug");
        _unit.SendPageRequest(PageRequestFor(0x40_0000, 4));
        Assert.Equal(PageResponseCode.InvalidRequest, Assert.Single(_responses).Code);
        Assert.Equal(1L, _core.FailedPageFaultHandlers);
    }
}
