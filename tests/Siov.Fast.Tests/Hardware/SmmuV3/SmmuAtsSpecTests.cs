using Microsoft.Extensions.Time.Testing;
using Siov.Fast.Ats;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Memory;

namespace Siov.Fast.Tests.Hardware.SmmuV3;

/// <summary>
/// PCIe ATS at the SMMUv3 model, driven by <see cref="SmmuSpecDriver"/> (Arm IHI 0070 alone): translation completions
/// checked against data entries computed here from the PCIe layout (R bit 0, W bit 1, Exe bit 7, Priv bit 8, S bit 11,
/// address 63:12 with the size in its low ones), STE.EATS gating translation requests (UR and F_BAD_ATS_TREQ) and, with
/// SMMU_CR0.ATSCHK, translated transactions (F_TRANSL_FORBIDDEN); CMD_ATC_INV reaching a function's endpoint with its
/// StreamID, SubstreamID, Global and range; CMD_SYNC waiting for the answer, and failing with CERROR_ATC_INV_SYNC when
/// none comes in time.
/// </summary>
public sealed class SmmuAtsSpecTests : IDisposable
{
    private const ulong Page = 0b11, Block = 0b01, Af = 1UL << 10, ApUser = 1UL << 6, ApReadOnly = 1UL << 7;
    private const uint S1 = 5, Bypass = 4, Abort = 0;
    private const ushort Sid = 0x12, Asid = 7;
    private const ulong Iova4K = 0x4000_1000, IovaRo = 0x4000_2000, Iova2M = 0x8020_0000;
    private const ulong Page4K = 0x80_2000, PageRo = 0x80_3000, Block2M = 0x60_0000;
    private readonly FakeTimeProvider _clock = new();
    private readonly PhysicalMemory _memory = new(64UL << 20);
    private readonly Smmu _smmu;
    private readonly SmmuSpecDriver _driver;
    private ulong _cdTable, _ttb;

    public SmmuAtsSpecTests()
    {
        _smmu = new Smmu(_memory, new SmmuOptions { TimeProvider = _clock, AtcInvalidationTimeout = TimeSpan.FromSeconds(60) });
        _driver = new SmmuSpecDriver(_smmu, _memory);
        _driver.Boot();
    }

    public void Dispose()
    {
        _smmu.Dispose();
        _memory.Dispose();
    }

    /// <summary>A stage 1 stream with a linear CD table of 16 CDs (S1CDMax 4, S1DSS = substream 0), CD 0 and CD 5 over one
    /// table: a 4 KiB page, a read-only page and a 2 MiB block.</summary>
    private void Stage1Stream(int eats = 1, ushort sid = Sid)
    {
        _cdTable = _memory.Frames.Allocate();
        _ttb = _memory.Frames.Allocate();
        SmmuSpecDriver.WriteCd(_memory, _cdTable, _ttb, Asid);
        SmmuSpecDriver.WriteCd(_memory, _cdTable + 5 * 64, _ttb, Asid + 1);
        _driver.Map(_ttb, 0, Iova4K, 3, Page4K | Page | Af | ApUser);
        _driver.Map(_ttb, 0, IovaRo, 3, PageRo | Page | Af | ApUser | ApReadOnly);
        _driver.Map(_ttb, 0, Iova2M, 2, Block2M | Block | Af | ApUser);
        _driver.WriteSte(sid, S1, _cdTable, cdMax: 4, s1dss: 2, eats: eats);
    }

    private AtsCompletion Ask(ulong iova, DmaAccess access = DmaAccess.ReadWrite, uint? ssid = null, ushort sid = Sid,
        DmaRequestAttributes attributes = DmaRequestAttributes.None) =>
        _smmu.TranslateForAts(new DmaRequest(sid, ssid, iova, access, attributes));

    [Fact]
    public void TranslationRequestsCompleteWithTheLeafBitByBit()
    {
        Stage1Stream();
        AtsCompletion page = Ask(Iova4K + 0x123);
        Assert.Equal(AtsCompletionStatus.Success, page.Status);
        Assert.Equal(Page4K | 0b11, page.DataEntry);                       // S = 0, R = W = 1
        Assert.Equal(Page4K + 0x123, page.Translate(Iova4K + 0x123));

        // A 2 MiB block: S (bit 11) set, address bits 19:12 all ones and bit 20 clear; asked for read only (NW): W = 0.
        AtsCompletion block = Ask(Iova2M + 0x1_2345, DmaAccess.Read);
        Assert.Equal(Block2M | 0xFF000 | 1UL << 11 | 0b01, block.DataEntry);
        Assert.Equal(21, block.SizeShift);

        // A read-only page asked for write: the read-only answer (R = 1, W = 0), the write's fault noted but not recorded.
        AtsCompletion ro = Ask(IovaRo, DmaAccess.Write);
        Assert.Equal(PageRo | 0b01, ro.DataEntry);
        Assert.Equal(SmmuEventType.Permission, (SmmuEventType)(byte)ro.Fault);

        // Through SSID 5 (the CD of another ASID over the same table).
        Assert.Equal(Page4K | 0b11, Ask(Iova4K, ssid: 5).DataEntry);
        Assert.Empty(_driver.DrainEvents());
    }

    [Fact]
    public void AbsentPagesCompleteWithoutRightsAndRecordNothing()
    {
        Stage1Stream();
        _driver.Map(_ttb, 0, 0x4000_5000, 3, 0x80_5000 | Page | ApUser);          // AF clear, AFFD clear: F_ACCESS
        AtsCompletion absent = Ask(0x4000_9000);
        Assert.Equal((AtsCompletionStatus.Success, 0x4000_9000UL), (absent.Status, absent.DataEntry)); // R = W = 0
        Assert.Equal(SmmuEventType.Translation, (SmmuEventType)(byte)absent.Fault);
        AtsCompletion noAf = Ask(0x4000_5000);
        Assert.Equal(0x4000_5000UL, noAf.DataEntry);
        Assert.Equal(SmmuEventType.Access, (SmmuEventType)(byte)noAf.Fault);
        Assert.Empty(_driver.DrainEvents());                                   // the function learns it from the completion
    }

    [Fact]
    public void PrivilegedAndExecuteRequestsEchoPrivAndExe()
    {
        Stage1Stream();
        AtsCompletion c = Ask(Iova4K, DmaAccess.Read, ssid: 5, attributes: DmaRequestAttributes.Privileged | DmaRequestAttributes.Execute);
        Assert.Equal(Page4K | 0b01 | 1UL << 7 | 1UL << 8, c.DataEntry);      // R, Exe (bit 7), Priv (bit 8)
        // An execute-never page (UXN, bit 54) refuses an unprivileged instruction fetch: R = W = 0.
        _driver.Map(_ttb, 0, 0x4000_6000, 3, 0x80_6000 | Page | Af | ApUser | 1UL << 54);
        Assert.Equal(0x4000_6000UL, Ask(0x4000_6000, DmaAccess.Read, ssid: 5, attributes: DmaRequestAttributes.Execute).DataEntry);
    }

    [Fact]
    public void StreamsWithoutFullAtsGetUrAndFBadAtsTreq()
    {
        Stage1Stream(eats: 0);
        _driver.WriteSte(0x20, Bypass, eats: 1);                               // EATS is ignored: bypass denies ATS
        _driver.WriteSte(0x21, Abort, eats: 1);
        _driver.WriteSte(0x22, S1, _cdTable, cdMax: 4, s1dss: 2, eats: 2);     // split-stage: not modelled, as 0b00
        foreach (ushort sid in new ushort[] { Sid, 0x20, 0x21, 0x22 })
        {
            AtsCompletion c = Ask(Iova4K, sid: sid);
            Assert.Equal((AtsCompletionStatus.UnsupportedRequest, SmmuEventType.BadAtsTranslationRequest),
                (c.Status, (SmmuEventType)(byte)c.Fault));
        }
        var events = _driver.DrainEvents();
        Assert.Equal([0x05, 0x05, 0x05, 0x05], events.Select(e => e.Type));
        Assert.Equal([(uint)Sid, 0x20, 0x21, 0x22], events.Select(e => e.Sid));
        Assert.Equal(Iova4K, events[0].W2);                                    // the request's address

        // SMMUEN clear: UR, no event (nothing is looked up).
        _driver.SetCr0(SmmuSpecDriver.EvtqEn | SmmuSpecDriver.CmdqEn);
        Assert.Equal(AtsCompletionStatus.UnsupportedRequest, Ask(Iova4K, sid: 0x20).Status);
        Assert.Empty(_driver.DrainEvents());
    }

    [Fact]
    public void AnSmmuWithoutAtsAnswersUr()
    {
        using var memory = new PhysicalMemory(16UL << 20);
        uint idr0 = SmmuOptions.Default.Idr0 & ~(1u << 10);                    // IDR0.ATS clear
        using var smmu = new Smmu(memory, new SmmuOptions { Idr0 = idr0 });
        var driver = new SmmuSpecDriver(smmu, memory);
        driver.Boot();
        ulong cd = memory.Frames.Allocate(), ttb = memory.Frames.Allocate();
        SmmuSpecDriver.WriteCd(memory, cd, ttb, 1);
        driver.WriteSte(1, S1, cd, eats: 1);
        Assert.Equal(AtsCompletionStatus.UnsupportedRequest, smmu.TranslateForAts(new DmaRequest(1, null, 0, DmaAccess.Read)).Status);
        Assert.False(driver.SubmitAndSync(SmmuSpecDriver.AtcInv(1, 0, 52)));  // CMD_ATC_INV is illegal there
        Assert.Equal(1u, driver.CommandError);                                 // CERROR_ILL
    }

    [Fact]
    public void ConfigurationErrorsCompleteWithCa()
    {
        Stage1Stream();
        Assert.Equal(AtsCompletionStatus.CompleterAbort, Ask(Iova4K, sid: 0x30).Status);   // STE V = 0: C_BAD_STE
        Assert.Equal(AtsCompletionStatus.CompleterAbort, Ask(Iova4K, ssid: 3).Status);     // CD 3 V = 0: C_BAD_CD
        Assert.Equal(AtsCompletionStatus.CompleterAbort, Ask(Iova4K, ssid: 16).Status);    // beyond S1CDMax: C_BAD_SUBSTREAMID
        Assert.Equal([0x04, 0x0A, 0x08], _driver.DrainEvents().Select(e => e.Type));
    }

    [Fact]
    public void StageOneBypassedThroughS1dssCompletesWithTheIdentity()
    {
        Stage1Stream();
        _driver.WriteSte(Sid, S1, _cdTable, cdMax: 4, s1dss: 1, eats: 1);     // S1DSS = bypass, no stage 2
        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.CfgiSte(Sid)));
        Assert.Equal(0x1234_5000UL | 0b11, Ask(0x1234_5678).DataEntry);
    }

    [Fact]
    public void TranslatedTransactionsPassWithoutAtsCheckAndAreCheckedAgainstEatsWithIt()
    {
        Stage1Stream(eats: 1);
        _driver.WriteSte(0x20, S1, _cdTable, cdMax: 4, s1dss: 2, eats: 0);
        TranslationResult Translated(ushort sid) => _smmu.Translate(DmaRequest.Translated(sid, null, 0x77_7000, DmaAccess.Write));

        // ATSCHK clear ("fast mode"): translated transactions pass, whatever the STE says.
        Assert.Equal(0x77_7000UL, Translated(0x20).Hpa);
        Assert.Equal(0x77_7000UL, Translated(0x31).Hpa);                      // not even an STE

        _driver.SetCr0(SmmuSpecDriver.EvtqEn | SmmuSpecDriver.CmdqEn | SmmuSpecDriver.AtsChk | SmmuSpecDriver.SmmuEn);
        Assert.Equal(0x77_7000UL, Translated(Sid).Hpa);                       // EATS = 0b01
        TranslationResult forbidden = Translated(0x20);
        Assert.Equal(SmmuEventType.TranslationForbidden, Smmu.EventOf(forbidden));
        var ev = Assert.Single(_driver.DrainEvents());
        Assert.Equal((0x07, 0x20u, 0x77_7000UL), (ev.Type, ev.Sid, ev.W2));
        // Never through the TLB: an untranslated read of the same number is still a walk of the stream's table.
        Assert.Equal(SmmuEventType.Translation, Smmu.EventOf(_smmu.Translate(new DmaRequest(Sid, null, 0x77_7000, DmaAccess.Read))));
    }

    [Fact]
    public void AtcInvReachesTheEndpointWithItsRangeSubstreamAndGlobal()
    {
        var endpoint = new RecordingEndpoint();
        _smmu.ConnectAtsEndpoint(Sid, endpoint);
        Assert.True(_driver.SubmitAndSync(
            SmmuSpecDriver.AtcInv(Sid, 0x1_3000, size: 1, ssid: 5),              // 2 pages: the address is aligned down
            SmmuSpecDriver.AtcInv(Sid, 0x40_0000, size: 9, ssid: 6, global: true), // 2 MiB
            SmmuSpecDriver.AtcInv(Sid, 0x5000, size: 52),                        // everything, every SubstreamID
            SmmuSpecDriver.AtcInv(0x13, 0x5000, size: 0)));                      // no endpoint there: nothing to wait for
        Assert.Equal(3, endpoint.Requests.Count);
        AtsInvalidationRequest first = endpoint.Requests[0], second = endpoint.Requests[1], all = endpoint.Requests[2];
        Assert.Equal((Sid, (uint?)5, false, 0x1_2000UL, 13), (first.RequesterId, first.Pasid, first.Global, first.Address, first.SizeShift));
        Assert.Equal(((uint?)6, true, 0x40_0000UL, 21), (second.Pasid, second.Global, second.Address, second.SizeShift));
        Assert.Equal(((uint?)null, false, 0UL, 64), (all.Pasid, all.Global, all.Address, all.SizeShift));
        Assert.Equal(3, _smmu.AtcInvalidations);

        Assert.False(_driver.SubmitAndSync(SmmuSpecDriver.AtcInv(Sid, 0, size: 53)));
        Assert.Equal(1u, _driver.CommandError);                                 // Size above 52: CERROR_ILL
    }

    [Fact]
    public void SyncWaitsForTheAnswer()
    {
        var endpoint = new RecordingEndpoint { Answer = false };
        _smmu.ConnectAtsEndpoint(Sid, endpoint);
        ulong status = _driver.SubmitWithSync(SmmuSpecDriver.AtcInv(Sid, 0x5000, size: 0));
        Assert.False(_driver.SyncDone(status));
        Assert.Equal(1u, _driver.CommandConsumer);                              // CONS stays at the CMD_SYNC
        Assert.Equal(1, _smmu.OutstandingAtcInvalidations);
        Assert.Equal(0u, _driver.CommandError);

        endpoint.Requests[0].Complete();
        Assert.True(_driver.SyncDone(status));
        Assert.Equal(2u, _driver.CommandConsumer);
        Assert.Equal(0, _smmu.OutstandingAtcInvalidations);
    }

    [Fact]
    public void UnansweredInvalidationFailsTheSyncWithCerrorAtcInvSyncUntilAcknowledged()
    {
        var endpoint = new RecordingEndpoint { Answer = false };
        _smmu.ConnectAtsEndpoint(Sid, endpoint);
        ulong status = _driver.SubmitWithSync(SmmuSpecDriver.AtcInv(Sid, 0x5000, size: 0));
        _clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0u, _driver.CommandError);
        Assert.False(_driver.CommandQueueErrorActive);

        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(3u, _driver.CommandError);                                 // CERROR_ATC_INV_SYNC
        Assert.True(_driver.CommandQueueErrorActive);                           // GERROR.CMDQ_ERR
        Assert.Equal(1u, _driver.CommandConsumer);                              // CONS still at the CMD_SYNC
        Assert.False(_driver.SyncDone(status));
        Assert.Equal(1, _smmu.AtcInvalidationTimeouts);

        // A late answer changes nothing; acknowledging runs the CMD_SYNC again, which completes.
        endpoint.Requests[0].Complete();
        Assert.False(_driver.SyncDone(status));
        _driver.AcknowledgeGlobalErrors();
        Assert.True(_driver.SyncDone(status));
        Assert.Equal(0u, _driver.CommandError);
        endpoint.Answer = true;
        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.AtcInv(Sid, 0x5000, size: 0)));
    }

    [Fact]
    public void ATimeoutBeforeTheSyncFailsTheNextSync()
    {
        var endpoint = new RecordingEndpoint { Answer = false };
        _smmu.ConnectAtsEndpoint(Sid, endpoint);
        _driver.Submit(SmmuSpecDriver.AtcInv(Sid, 0x5000, size: 0));          // no CMD_SYNC yet
        _clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(0u, _driver.CommandError);
        Assert.False(_driver.SubmitAndSync());
        Assert.Equal(3u, _driver.CommandError);
    }

    [Fact]
    public void DeviceTlbFillsFromTheSmmuAndLosesEntriesToAtcInv()
    {
        Stage1Stream();
        using var atc = new DeviceTlb(_smmu, Sid, capacity: 64);
        DmaRequest Read(ulong iova, uint? ssid) => new(Sid, ssid, iova, DmaAccess.Read);
        Assert.Equal(AtcOutcome.Filled, atc.Translate(Read(Iova4K, null), out TranslationResult r));
        Assert.Equal(Page4K, r.Hpa);
        Assert.Equal(AtcOutcome.Filled, atc.Translate(Read(Iova4K, 5), out _));
        Assert.Equal(AtcOutcome.Hit, atc.Translate(Read(Iova4K + 8, 5), out TranslationResult hit));
        Assert.Equal(Page4K + 8, hit.Hpa);

        // The DMA that follows a hit is a translated transaction, let through (ATSCHK set, EATS = 0b01).
        _driver.SetCr0(SmmuSpecDriver.EvtqEn | SmmuSpecDriver.CmdqEn | SmmuSpecDriver.AtsChk | SmmuSpecDriver.SmmuEn);
        Assert.Equal(Page4K + 8, _smmu.Translate(DmaRequest.Translated(Sid, 5, hit.Hpa, DmaAccess.Read)).Hpa);

        // SSV with SSID 5: only that SubstreamID's entry goes.
        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.AtcInv(Sid, Iova4K, size: 0, ssid: 5)));
        Assert.False(atc.TryTranslate(Read(Iova4K, 5), out _));
        Assert.True(atc.TryTranslate(Read(Iova4K, null), out _));
        // Without SSV: every entry in the range, with or without SubstreamID.
        Assert.Equal(AtcOutcome.Filled, atc.Translate(Read(Iova4K, 5), out _));
        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.AtcInv(Sid, Iova4K, size: 0)));
        Assert.Equal(0, atc.Count);
        Assert.Equal(Errno.EEXIST, Assert.Throws<IommuException>(() => new DeviceTlb(_smmu, Sid)).Code);
    }

    [Fact]
    public void PageRequestsAreAnsweredWithResponseFailureWithoutAPriQueue()
    {
        var endpoint = new RecordingEndpoint();
        _smmu.ConnectAtsEndpoint(Sid, endpoint);
        _smmu.SendPageRequest(new PageRequest(Sid, 5, 0x1000, true, false, false, false, 3, LastInGroup: false));
        Assert.Empty(endpoint.Responses);
        _smmu.SendPageRequest(new PageRequest(Sid, 5, 0x2000, true, false, false, false, 3, LastInGroup: true));
        Assert.Equal(new PageGroupResponse(Sid, 5, 3, PageResponseCode.ResponseFailure), Assert.Single(endpoint.Responses));
    }

    /// <summary>A function's endpoint that records what reaches it and answers invalidation requests when told to.</summary>
    private sealed class RecordingEndpoint : IAtsEndpoint
    {
        public bool Answer { get; set; } = true;

        public List<AtsInvalidationRequest> Requests { get; } = [];

        public List<PageGroupResponse> Responses { get; } = [];

        public void OnInvalidationRequest(AtsInvalidationRequest request)
        {
            Requests.Add(request);
            if (Answer)
                request.Complete();
        }

        public void OnPageGroupResponse(PageGroupResponse response) => Responses.Add(response);
    }
}
