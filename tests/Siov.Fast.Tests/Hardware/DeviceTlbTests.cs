using Microsoft.Extensions.Time.Testing;
using Siov.Fast.Ats;
using Siov.Fast.Hardware.Vtd;

namespace Siov.Fast.Tests.Hardware;

/// <summary>
/// A function's ATC (<see cref="DeviceTlb"/>) behind a unit booted by the spec driver: fills from translation
/// completions, hits, and the device-TLB and PASID-based device-TLB invalidation descriptors (written here from the
/// spec's layouts) reaching it as invalidation requests; the invalidation wait that completes only once the function has
/// answered, and the one that times out with FSTS_REG.ITE.
/// </summary>
public sealed class DeviceTlbTests : IDisposable
{
    private const int Bus = 4, Devfn = 0;
    private const ushort Did = 3;
    private const uint PasidA = 10, PasidB = 11;
    private static readonly ushort Sid = SpecDriver.SourceId(Bus, 0, 0);

    private readonly FakeTimeProvider _clock = new();
    private readonly SpecRig _rig;
    private readonly SecondLevelTable _table;
    private readonly DeviceTlb _atc;

    public DeviceTlbTests()
    {
        _rig = SpecRig.Scalable(new RemappingUnitOptions { TimeProvider = _clock, DeviceTlbInvalidationTimeout = TimeSpan.FromSeconds(60) });
        _rig.Driver.Boot(scalable: true);
        _rig.Driver.AttachScalable(Bus, Devfn, pasidEnable: true, deviceTlb: true);
        _table = new SecondLevelTable(_rig.Memory, 4);
        for (ulong page = 0; page < 8; page++)
            _table.Map(0x10000 + page * 0x1000, 0x80_0000 + page * 0x1000, 0x1000, DmaProtection.ReadWrite);
        _rig.Driver.SetPasidSecondLevel(Bus, Devfn, 0, Did, _table);
        _rig.Driver.SetPasidSecondLevel(Bus, Devfn, PasidA, Did, _table);
        _rig.Driver.SetPasidSecondLevel(Bus, Devfn, PasidB, Did, _table);
        _atc = new DeviceTlb(_rig.Unit, Sid, capacity: 64);
    }

    public void Dispose()
    {
        _atc.Dispose();
        _rig.Dispose();
    }

    private static DmaRequest Read(ulong iova, uint? pasid = null) => new(Sid, pasid, iova, DmaAccess.Read);

    private bool Cached(ulong iova, uint? pasid = null) => _atc.TryTranslate(Read(iova, pasid), out _);

    [Fact]
    public void MissFillsThenHits()
    {
        Assert.Equal(AtcOutcome.Filled, _atc.Translate(Read(0x10008), out TranslationResult first));
        Assert.Equal(0x80_0008UL, first.Hpa);
        Assert.Equal(AtcOutcome.Hit, _atc.Translate(Read(0x10010), out TranslationResult second));
        Assert.Equal(0x80_0010UL, second.Hpa);
        Assert.Equal(1, _atc.TranslationRequests);
    }

    [Fact]
    public void NotPresentPageIsNotCached()
    {
        Assert.Equal(AtcOutcome.NotPresent, _atc.Translate(Read(0x90000), out TranslationResult r));
        Assert.False(r.IsSuccess);
        Assert.Equal(FaultReason.SmSecondLevelNotPresent, r.Fault);
        Assert.Equal(0, _atc.Count);
    }

    [Fact]
    public void RangeInvalidationDropsOnlyItsPages()
    {
        foreach (ulong iova in new ulong[] { 0x10000, 0x11000, 0x13000 })
            _atc.Translate(Read(iova), out _);
        // 8 KiB at 0x10000: S set, address bit 12 clear.
        _rig.Driver.SubmitAndWait(InvDescriptor.DeviceTlb(Sid, 0x10000, s: true));
        Assert.False(Cached(0x10000));
        Assert.False(Cached(0x11000));
        Assert.True(Cached(0x13000));
        Assert.Equal(1, _atc.InvalidationRequests);
    }

    [Fact]
    public void SinglePageInvalidation()
    {
        _atc.Translate(Read(0x10000), out _);
        _atc.Translate(Read(0x11000), out _);
        _rig.Driver.SubmitAndWait(InvDescriptor.DeviceTlb(Sid, 0x11000, s: false));
        Assert.True(Cached(0x10000));
        Assert.False(Cached(0x11000));
    }

    [Fact]
    public void PasidWideInvalidationLeavesOtherPasids()
    {
        _atc.Translate(Read(0x10000, PasidA), out _);
        _atc.Translate(Read(0x12000, PasidA), out _);
        _atc.Translate(Read(0x10000, PasidB), out _);
        // Every address: all ones with S set.
        _rig.Driver.SubmitAndWait(InvDescriptor.PasidDeviceTlb(Sid, PasidA, 0x7FFF_FFFF_FFFF_F000, s: true));
        Assert.False(Cached(0x10000, PasidA));
        Assert.False(Cached(0x12000, PasidA));
        Assert.True(Cached(0x10000, PasidB));
    }

    [Fact]
    public void GlobalPasidInvalidationReachesEveryPasid()
    {
        _atc.Translate(Read(0x10000, PasidA), out _);
        _atc.Translate(Read(0x10000, PasidB), out _);
        _rig.Driver.SubmitAndWait(InvDescriptor.PasidDeviceTlb(Sid, PasidA, 0x10000, s: false, g: true));
        Assert.False(Cached(0x10000, PasidA));
        Assert.False(Cached(0x10000, PasidB));
    }

    [Fact]
    public void WaitCompletesOnlyAfterTheFunctionAnswers()
    {
        _atc.Answers = DeviceTlbAnswers.Deferred;
        _atc.Translate(Read(0x10000), out _);
        var (address, data) = _rig.Driver.NextStatus();
        _rig.Driver.Submit(InvDescriptor.DeviceTlb(Sid, 0x10000, s: false), InvDescriptor.Wait(address, data));
        Assert.False(Cached(0x10000)); // dropped at once, answered later
        Assert.False(_rig.Driver.StatusWritten(address, data));
        Assert.Equal(1, _rig.Unit.OutstandingDeviceTlbInvalidations);
        Assert.Single(_atc.PendingInvalidations);

        Assert.Equal(1, _atc.AnswerPendingInvalidations());
        Assert.True(_rig.Driver.StatusWritten(address, data));
        Assert.Equal(0, _rig.Unit.OutstandingDeviceTlbInvalidations);
    }

    [Fact]
    public void UnansweredRequestTimesOutWithIte()
    {
        _atc.Answers = DeviceTlbAnswers.Never;
        var (address, data) = _rig.Driver.NextStatus();
        _rig.Driver.Submit(InvDescriptor.DeviceTlb(Sid, 0x10000, s: false), InvDescriptor.Wait(address, data));
        int events = _rig.FaultEvents.Count;
        _clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0u, _rig.Driver.FaultStatus & VtdRegs.Ite);

        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.NotEqual(0u, _rig.Driver.FaultStatus & VtdRegs.Ite);
        Assert.Equal(Sid, (ushort)(_rig.Driver.Read64(VtdRegs.Iqercd) >> 32)); // ITESID, bits 47:32
        Assert.Equal(events + 1, _rig.FaultEvents.Count);
        Assert.False(_rig.Driver.StatusWritten(address, data)); // the wait is discarded
        Assert.Equal(0, _rig.Unit.OutstandingDeviceTlbInvalidations);

        // A late answer changes nothing; clearing ITE lets the queue go on.
        foreach (AtsInvalidationRequest late in _atc.PendingInvalidations)
            late.Complete();
        _rig.Driver.Write32(VtdRegs.Fsts, VtdRegs.Ite);
        _atc.Answers = DeviceTlbAnswers.Immediately;
        _rig.Driver.SubmitAndWait(InvDescriptor.DeviceTlb(Sid, 0x10000, s: false));
    }

    [Fact]
    public void FunctionWithoutAnAtcIsNotWaitedFor()
    {
        ushort other = SpecDriver.SourceId(Bus, 2, 0);
        _rig.Driver.SubmitAndWait(InvDescriptor.DeviceTlb(other, 0x10000, s: false));
        Assert.Equal(0, _atc.InvalidationRequests);
    }

    [Fact]
    public void ReservedBitsStopTheQueue()
    {
        _rig.Driver.Submit(new InvDescriptor(InvDescriptor.DeviceTlbType | ((ulong)Sid << 32), 0x10000 | 0x2));
        Assert.NotEqual(0u, _rig.Driver.FaultStatus & VtdRegs.Iqe);
    }

    [Fact]
    public void ASecondEndpointForTheSameFunctionIsRefused()
    {
        IommuException e = Assert.Throws<IommuException>(() => new DeviceTlb(_rig.Unit, Sid));
        Assert.Equal(Errno.EEXIST, e.Code);
    }

    /// <summary>A driver that unmaps, invalidates the IOTLB and forgets the device-TLB: the ATC still hits, and the
    /// sanitizer names the device-TLB invalidation that is missing. With it, the ATC misses and nothing is reported.</summary>
    [Fact]
    public void SanitizerNamesTheMissingDeviceTlbInvalidation()
    {
        InvalidationSanitizer sanitizer = _rig.Unit.EnableSanitizer();
        _atc.Translate(Read(0x10000), out _);
        _atc.Translate(Read(0x11000), out _);
        _table.Unmap(0x10000, 0x1000);
        _table.Unmap(0x11000, 0x1000);
        _rig.Driver.SubmitAndWait(InvDescriptor.Iotlb(3, Did, 0x10000, am: 1)); // both pages, but no device-TLB invalidation

        Assert.Equal(AtcOutcome.Hit, _atc.Translate(Read(0x10008), out TranslationResult stale));
        Assert.Equal(0x80_0008UL, stale.Hpa);
        StaleTranslationReport report = Assert.Single(sanitizer.GetReports());
        Assert.Equal(StaleCache.DeviceTlb, report.Cache);
        Assert.Equal("device-TLB invalidation SID 04:00.0 ADDR 0x10000 S 0", report.MissingInvalidation);
        Assert.False(report.InMemory.IsSuccess);

        _rig.Driver.SubmitAndWait(InvDescriptor.DeviceTlb(Sid, 0x11000, s: false));
        Assert.Equal(AtcOutcome.NotPresent, _atc.Translate(Read(0x11000), out _));
        Assert.Single(sanitizer.GetReports());
    }

    /// <summary>An agent whose translation request is overtaken by an invalidation of the same page (a racing unmap): the
    /// completion it returns is stale, and the ATC must not keep it. Fails if fills ignore the sequence number.</summary>
    [Fact]
    public void FillOvertakenByAnInvalidationIsDropped()
    {
        var agent = new RacingAgent();
        using var atc = new DeviceTlb(agent, 0x100, capacity: 16);
        agent.Atc = atc;
        Assert.Equal(AtcOutcome.Filled, atc.Translate(new DmaRequest(0x100, null, 0x5000, DmaAccess.Read), out TranslationResult r));
        Assert.Equal(0xA000UL, r.Hpa);
        Assert.False(atc.TryTranslate(new DmaRequest(0x100, null, 0x5000, DmaAccess.Read), out _));
    }

    private sealed class RacingAgent : IAtsTranslationAgent
    {
        public DeviceTlb? Atc { get; set; }

        public AtsCompletion TranslateForAts(in DmaRequest request)
        {
            // The unit answers from the old tables, then the driver's unmap invalidates the page before the answer lands.
            var invalidation = (AtsInvalidationRequest)Activator.CreateInstance(typeof(AtsInvalidationRequest),
                System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance, null,
                [request.RequesterId, null, false, 0x5000UL, 12, (Action<AtsInvalidationRequest>)(_ => { })], null)!;
            Atc!.OnInvalidationRequest(invalidation);
            return AtsCompletion.Success(0xA000, 12, DmaProtection.ReadWrite);
        }

        public void ConnectAtsEndpoint(ushort requesterId, IAtsEndpoint endpoint)
        {
        }

        public void DisconnectAtsEndpoint(ushort requesterId)
        {
        }

        public void SendPageRequest(in PageRequest request)
        {
        }

        public TranslationResult Translate(in DmaRequest request) => default;
    }
}
