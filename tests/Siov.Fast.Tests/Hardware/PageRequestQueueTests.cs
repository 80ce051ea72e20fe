using Siov.Fast.Ats;
using Siov.Fast.Hardware.Vtd;

namespace Siov.Fast.Tests.Hardware;

/// <summary>
/// The page request queue of the unit (VT-d spec 7.5), driven through registers at the spec's offsets (PQH 0xC0, PQT
/// 0xC8, PQA 0xD0, PRS 0xDC, PECTL 0xE0) and checked against page request descriptors written out here by hand (qword 0:
/// type 1, PASID present bit 8, RID 31:16, PASID 51:32, execute 52, privileged 53; qword 1: R bit 0, W bit 1, LPIG bit 2,
/// PRG index 11:3, address 63:12), and the page group response descriptor (type 9) that answers a group.
/// </summary>
public sealed class PageRequestQueueTests : IDisposable
{
    private const ulong Pqh = 0xC0, Pqt = 0xC8, Pqa = 0xD0, Prs = 0xDC, Pectl = 0xE0;
    private const int Bus = 5;
    private static readonly ushort Sid = SpecDriver.SourceId(Bus, 0, 0);

    private readonly SpecRig _rig = SpecRig.Scalable();
    private readonly ulong _queue;
    private readonly Endpoint _endpoint = new();
    private int _events;

    public PageRequestQueueTests()
    {
        _rig.Driver.Boot(scalable: true);
        _queue = _rig.Memory.Frames.Allocate();
        _rig.Driver.Write64(Pqh, 0);
        _rig.Driver.Write64(Pqa, _queue); // PQS = 0: one page, 128 descriptors
        _rig.Driver.Write32(Pectl, 0);    // unmask
        _rig.Unit.PageRequestEvent += (_, _) => _events++;
        _rig.Unit.ConnectAtsEndpoint(Sid, _endpoint);
    }

    public void Dispose() => _rig.Dispose();

    private sealed class Endpoint : IAtsEndpoint
    {
        public List<PageGroupResponse> Responses { get; } = [];

        public void OnInvalidationRequest(AtsInvalidationRequest request) => request.Complete();

        public void OnPageGroupResponse(PageGroupResponse response) => Responses.Add(response);
    }

    private static PageRequest Request(ulong address, int index, bool last = true, uint? pasid = 7) =>
        new(Sid, pasid, address, Read: true, Write: true, Execute: false, Privileged: false, index, last);

    [Fact]
    public void RequestIsWrittenAtTheTailInTheSpecsLayout()
    {
        _rig.Driver.AttachScalable(Bus, 0, pasidEnable: true, deviceTlb: true, pageRequest: true);
        _rig.Unit.SendPageRequest(Request(0x1234_5000, index: 3));

        ulong expectedQ0 = 1UL | 1UL << 8 | (ulong)Sid << 16 | 7UL << 32;
        ulong expectedQ1 = 0b011 | 1UL << 2 | 3UL << 3 | 0x1234_5000;
        Assert.Equal(expectedQ0, _rig.Memory.ReadUInt64(_queue));
        Assert.Equal(expectedQ1, _rig.Memory.ReadUInt64(_queue + 8));
        Assert.Equal(32UL, _rig.Driver.Read64(Pqt));
        Assert.Equal(1u, _rig.Driver.Read32(Prs) & 1); // PPR
        Assert.Equal(1, _events);
        Assert.Equal("rid=0x500 addr=0x12345 rw--l pasid=0x7 index=0x3", PageRequestDescriptor.Describe(expectedQ0, expectedQ1));

        // A second request while PPR is still set raises no second event.
        _rig.Unit.SendPageRequest(Request(0x1234_6000, index: 4));
        Assert.Equal(64UL, _rig.Driver.Read64(Pqt));
        Assert.Equal(1, _events);
        Assert.Empty(_endpoint.Responses);
    }

    [Fact]
    public void MaskedEventIsPendingUntilUnmasked()
    {
        _rig.Driver.AttachScalable(Bus, 0, pasidEnable: true, deviceTlb: true, pageRequest: true);
        _rig.Driver.Write32(Pectl, 1u << 31);
        _rig.Unit.SendPageRequest(Request(0x1000, 0));
        Assert.Equal(0, _events);
        Assert.NotEqual(0u, _rig.Driver.Read32(Pectl) & 1u << 30); // IP
        _rig.Driver.Write32(Pectl, 0);
        Assert.Equal(1, _events);
    }

    [Fact]
    public void PreClearIsFault47AndAnsweredInvalidByTheUnit()
    {
        _rig.Driver.AttachScalable(Bus, 0, pasidEnable: true, deviceTlb: true, pageRequest: false);
        _rig.Unit.SendPageRequest(Request(0x1000, 9));
        Assert.Equal(0UL, _rig.Driver.Read64(Pqt));
        Assert.Equal(0x47, Assert.Single(_rig.Driver.DrainFaults()).Reason);
        Assert.Equal(new PageGroupResponse(Sid, 7, 9, PageResponseCode.InvalidRequest), Assert.Single(_endpoint.Responses));
    }

    [Fact]
    public void FullQueueSetsProAndTheUnitAnswersSuccess()
    {
        _rig.Driver.AttachScalable(Bus, 0, pasidEnable: true, deviceTlb: true, pageRequest: true);
        for (int i = 0; i < 127; i++) // 128 slots: one stays empty
            _rig.Unit.SendPageRequest(Request((ulong)i << 12, i % 512, last: false));
        Assert.Equal(0u, _rig.Driver.Read32(Prs) & 2);
        _rig.Unit.SendPageRequest(Request(0x9_9000, 200));
        Assert.Equal(2u, _rig.Driver.Read32(Prs) & 2); // PRO
        Assert.Equal(new PageGroupResponse(Sid, 7, 200, PageResponseCode.Success), Assert.Single(_endpoint.Responses));

        // Software drains (PQH = PQT), clears PRO: requests are queued again.
        _rig.Driver.Write64(Pqh, _rig.Driver.Read64(Pqt));
        _rig.Driver.Write32(Prs, 3);
        _rig.Unit.SendPageRequest(Request(0xA_0000, 201));
        Assert.Single(_endpoint.Responses);
    }

    [Fact]
    public void PageGroupResponseDescriptorReachesTheFunction()
    {
        _rig.Driver.AttachScalable(Bus, 0, pasidEnable: true, deviceTlb: true, pageRequest: true);
        // Type 9; P (bit 4); response code 15:12 = 1 (invalid); RID 31:16; PASID 51:32; qword 1: LPIG bit 2, index 11:3.
        var response = new InvDescriptor(9UL | 1UL << 4 | 1UL << 12 | (ulong)Sid << 16 | 7UL << 32, 1UL << 2 | 300UL << 3);
        _rig.Driver.SubmitAndWait(response);
        Assert.Equal(new PageGroupResponse(Sid, 7, 300, PageResponseCode.InvalidRequest), Assert.Single(_endpoint.Responses));
    }

    [Fact]
    public void ResponseWithReservedBitsStopsTheQueue()
    {
        _rig.Driver.Submit(new InvDescriptor(9UL | (ulong)Sid << 16 | 1UL << 8, 0));
        Assert.NotEqual(0u, _rig.Driver.FaultStatus & VtdRegs.Iqe);
    }
}
