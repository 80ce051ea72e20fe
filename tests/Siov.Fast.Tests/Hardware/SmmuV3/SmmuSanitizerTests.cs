using Siov.Fast.Ats;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Memory;

namespace Siov.Fast.Tests.Hardware.SmmuV3;

/// <summary>
/// The invalidation sanitizer on the SMMUv3 model, driven by <see cref="SmmuSpecDriver"/> playing a buggy driver: each
/// test leaves one command out of the sequence the architecture asks for (a CMD_TLBI_NH_VA for the wrong page, a
/// CMD_CFGI_CD or CMD_CFGI_STE for the wrong stream or substream, a CMD_ATC_INV never sent), and the sanitizer names the
/// missing command and the entry whose write it should have followed. A change not yet followed by any invalidation of
/// that cache is taken as in flight, and the right command ends the reports. A transaction that raced with a change (seen
/// while it was in flight) is not reported either when the change's commands run between its comparison and its verdict
/// (<c>Smmu.SanitizerVerdictHook</c> puts them there).
/// </summary>
public sealed class SmmuSanitizerTests : IDisposable
{
    private const ulong Page = 0b11, Af = 1UL << 10, ApUser = 1UL << 6;
    private const uint S1 = 5, Abort = 0;
    private const ushort Sid = 0x12, Asid = 7;
    private readonly PhysicalMemory _memory = new(64UL << 20);
    private readonly Smmu _smmu;
    private readonly SmmuSpecDriver _driver;
    private readonly InvalidationSanitizer _sanitizer;
    private readonly ulong _cdTable, _ttb;

    public SmmuSanitizerTests()
    {
        _smmu = new Smmu(_memory);
        _driver = new SmmuSpecDriver(_smmu, _memory);
        _driver.Boot();
        _sanitizer = _smmu.EnableSanitizer();
        _cdTable = _memory.Frames.Allocate();
        _ttb = _memory.Frames.Allocate();
        SmmuSpecDriver.WriteCd(_memory, _cdTable, _ttb, Asid);
        _driver.Map(_ttb, 0, 0x1000, 3, 0x2000 | Page | Af | ApUser);
        _driver.Map(_ttb, 0, 0x3000, 3, 0x4000 | Page | Af | ApUser);
        _driver.WriteSte(Sid, S1, _cdTable, eats: 1);
    }

    public void Dispose()
    {
        _smmu.Dispose();
        _memory.Dispose();
    }

    private TranslationResult Dma(ulong iova) => _smmu.Translate(new DmaRequest(Sid, null, iova, DmaAccess.Read));

    [Fact]
    public void AMissingTlbiNhVaIsNamedWithTheStage1DescriptorWrite()
    {
        Assert.Equal(0x2000UL, Dma(0x1000).Hpa);                               // into the TLB
        ulong leaf = _driver.DescriptorAddress(_ttb, 0, 0x1000, 3);
        _memory.WriteUInt64(leaf, 0);                                           // unmapped
        Assert.True(Dma(0x1000).IsSuccess);                                    // stale, but no TLBI yet: in flight
        Assert.Empty(_sanitizer.GetReports());

        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.TlbiNhVa(Asid, 0x3000)));  // the wrong page
        Assert.Equal(0x2000UL, Dma(0x1000).Hpa);                               // the TLB kept it, as hardware would
        StaleTranslationReport report = Assert.Single(_sanitizer.GetReports());
        Assert.Equal(StaleCache.Iotlb, report.Cache);
        Assert.Equal("CMD_TLBI_NH_VA VMID 0 ASID 7 Addr 0x1000, CMD_SYNC", report.MissingInvalidation);
        Assert.Equal(leaf, report.ChangedEntry!.Value.Hpa);
        Assert.Equal(Asid, report.DomainId);
        Assert.Contains("missing after stage 1 descriptor write at 0x" + leaf.ToString("x"), report.ToString(), StringComparison.Ordinal);

        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.TlbiNhVa(Asid, 0x1000)));
        Assert.False(Dma(0x1000).IsSuccess);
        Assert.Single(_sanitizer.GetReports());
    }

    [Fact]
    public void AMissingCfgiCdIsNamedWithTheCdWrite()
    {
        Assert.Equal(0x2000UL, Dma(0x1000).Hpa);
        ulong ttb2 = _memory.Frames.Allocate();
        _driver.Map(ttb2, 0, 0x1000, 3, 0x5000 | Page | Af | ApUser);
        SmmuSpecDriver.WriteCd(_memory, _cdTable, ttb2, 8);                      // a new table and ASID in CD 0
        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.CfgiCd(0x13, 0)));   // another stream's CD
        Assert.Equal(0x2000UL, Dma(0x1000).Hpa);
        StaleTranslationReport report = Assert.Single(_sanitizer.GetReports());
        Assert.Equal(StaleCache.ContextDescriptorCache, report.Cache);
        Assert.Equal("CMD_CFGI_CD SID 0x12 SSID 0, CMD_SYNC", report.MissingInvalidation);
        Assert.Equal(_cdTable, report.ChangedEntry!.Value.Hpa);                  // word 0 (V, ASID) written last
        Assert.Equal(0x5000UL, report.InMemory.Hpa);

        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.CfgiCd(Sid, 0)));
        Assert.Equal(0x5000UL, Dma(0x1000).Hpa);
        Assert.Single(_sanitizer.GetReports());
    }

    [Fact]
    public void AMissingCfgiSteIsNamedWithTheSteWrite()
    {
        Assert.True(Dma(0x1000).IsSuccess);
        _driver.WriteSte(Sid, Abort);
        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.CfgiSte(0x13)));
        Assert.True(Dma(0x1000).IsSuccess);                                    // the cached STE still translates
        StaleTranslationReport report = Assert.Single(_sanitizer.GetReports());
        Assert.Equal(StaleCache.StreamTableEntryCache, report.Cache);
        Assert.Equal("CMD_CFGI_STE SID 0x12, CMD_SYNC", report.MissingInvalidation);
        Assert.Equal(_driver.StreamTable + Sid * 64UL, report.ChangedEntry!.Value.Hpa);
        Assert.Contains("after STE write", report.ToString(), StringComparison.Ordinal);
    }

    /// <summary>A driver that unmaps, invalidates the TLB and forgets the ATC: the function's ATC still hits, and the
    /// sanitizer names the CMD_ATC_INV that is missing. With it, the ATC misses and nothing more is reported.</summary>
    [Fact]
    public void AMissingAtcInvIsNamedOnTheAtcHit()
    {
        using var atc = new DeviceTlb(_smmu, Sid, capacity: 64);
        var read = new DmaRequest(Sid, null, 0x1008, DmaAccess.Read);
        Assert.Equal(AtcOutcome.Filled, atc.Translate(read, out _));
        _memory.WriteUInt64(_driver.DescriptorAddress(_ttb, 0, 0x1000, 3), 0);
        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.TlbiNhVa(Asid, 0x1000)));  // the SMMU's TLB, not the ATC

        Assert.Equal(AtcOutcome.Hit, atc.Translate(read, out TranslationResult stale));
        Assert.Equal(0x2008UL, stale.Hpa);
        StaleTranslationReport report = Assert.Single(_sanitizer.GetReports());
        Assert.Equal(StaleCache.DeviceTlb, report.Cache);
        Assert.Equal("CMD_ATC_INV SID 0x12 Addr 0x1000 Size 0, CMD_SYNC", report.MissingInvalidation);
        Assert.False(report.InMemory.IsSuccess);

        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.AtcInv(Sid, 0x1000, size: 0)));
        Assert.Equal(AtcOutcome.NotPresent, atc.Translate(read, out _));
        Assert.Single(_sanitizer.GetReports());
    }

    /// <summary>The right commands in the right order leave nothing to report, and nothing is reported while the commands
    /// are still to come.</summary>
    [Fact]
    public void TheArchitecturesSequenceIsNeverReported()
    {
        using var atc = new DeviceTlb(_smmu, Sid, capacity: 64);
        var read = new DmaRequest(Sid, null, 0x3000, DmaAccess.Read);
        Assert.Equal(0x4000UL, Dma(0x3000).Hpa);
        Assert.Equal(AtcOutcome.Filled, atc.Translate(read, out _));
        _memory.WriteUInt64(_driver.DescriptorAddress(_ttb, 0, 0x3000, 3), 0);
        Assert.True(Dma(0x3000).IsSuccess);                                    // in flight
        Assert.Equal(AtcOutcome.Hit, atc.Translate(read, out _));
        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.TlbiNhVa(Asid, 0x3000)));
        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.AtcInv(Sid, 0x3000, size: 0)));
        Assert.False(Dma(0x3000).IsSuccess);
        Assert.Equal(AtcOutcome.NotPresent, atc.Translate(read, out _));
        Assert.Empty(_sanitizer.GetReports());
        Assert.True(_sanitizer.Comparisons > 0);
    }

    /// <summary>Runs <paramref name="step"/> once, between the next comparison that disagrees and its verdict: the rest of
    /// a driver's change landing while a translation that raced with it is being judged.</summary>
    private void BeforeNextVerdict(Action step) => _smmu.SanitizerVerdictHook = () =>
    {
        _smmu.SanitizerVerdictHook = null;
        step();
    };

    /// <summary>A translation that hits the TLB after the unmap wrote the leaf and before the CMD_TLBI_NH_VA ran races
    /// with the change: until the CMD_SYNC completes, the SMMU may answer either way (IHI 0070, 3.21: a change takes
    /// effect for a transaction only once the invalidation and the CMD_SYNC after it have completed). When the TLBI runs
    /// between that comparison and its verdict, the verdict must still see the change in flight, not a TLBI that left the
    /// entry behind (the concurrency stress's false reports on SMMUv3).</summary>
    [Fact]
    public void ATlbHitRacingWithTheTlbiIsNotReported()
    {
        Assert.Equal(0x2000UL, Dma(0x1000).Hpa);
        _memory.WriteUInt64(_driver.DescriptorAddress(_ttb, 0, 0x1000, 3), 0);
        BeforeNextVerdict(() => Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.TlbiNhVa(Asid, 0x1000))));
        Assert.Equal(0x2000UL, Dma(0x1000).Hpa);                               // in flight when it was compared
        Assert.Null(_smmu.SanitizerVerdictHook);
        Assert.False(Dma(0x1000).IsSuccess);
        Assert.Empty(_sanitizer.GetReports());
    }

    /// <summary>The same for the configuration cache, as arm-smmu-v3 detaches a stream: word 0 of the STE cleared (V),
    /// CMD_CFGI_STE and CMD_SYNC, the new STE written, CMD_CFGI_STE and CMD_SYNC again. A transaction that used the cached
    /// STE after V was cleared, judged once all of that has run and another transaction has cached the new STE, raced
    /// with the first step; it outlived no invalidation.</summary>
    [Fact]
    public void ACachedSteRacingWithTheStesUpdateIsNotReported()
    {
        Assert.True(Dma(0x1000).IsSuccess);
        _memory.WriteUInt64(_driver.StreamTable + Sid * 64UL, 0);              // V clear; its CMD_CFGI_STE still to come
        BeforeNextVerdict(() =>
        {
            Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.CfgiSte(Sid)));
            _driver.WriteSte(Sid, Abort);
            Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.CfgiSte(Sid)));
            Assert.False(Dma(0x1000).IsSuccess);                               // the abort STE cached
        });
        Assert.True(Dma(0x1000).IsSuccess);                                    // the old STE, in flight
        Assert.Null(_smmu.SanitizerVerdictHook);
        Assert.False(Dma(0x1000).IsSuccess);
        Assert.Empty(_sanitizer.GetReports());
    }

    /// <summary>And for a CD changed twice, each change followed by its CMD_CFGI_CD and CMD_SYNC: a transaction that used
    /// the cached CD during the first change, judged after both (and after the second CD was cached).</summary>
    [Fact]
    public void ACachedCdRacingWithTheCdsUpdateIsNotReported()
    {
        Assert.Equal(0x2000UL, Dma(0x1000).Hpa);
        ulong ttb2 = _memory.Frames.Allocate(), ttb3 = _memory.Frames.Allocate();
        _driver.Map(ttb2, 0, 0x1000, 3, 0x5000 | Page | Af | ApUser);
        _driver.Map(ttb3, 0, 0x1000, 3, 0x6000 | Page | Af | ApUser);
        SmmuSpecDriver.WriteCd(_memory, _cdTable, ttb2, 8);                      // its CMD_CFGI_CD still to come
        BeforeNextVerdict(() =>
        {
            Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.CfgiCd(Sid, 0)));
            SmmuSpecDriver.WriteCd(_memory, _cdTable, ttb3, 9);
            Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.CfgiCd(Sid, 0)));
            Assert.Equal(0x6000UL, Dma(0x1000).Hpa);                           // the third CD cached
        });
        Assert.Equal(0x2000UL, Dma(0x1000).Hpa);                               // the first CD, in flight
        Assert.Null(_smmu.SanitizerVerdictHook);
        Assert.Equal(0x6000UL, Dma(0x1000).Hpa);
        Assert.Empty(_sanitizer.GetReports());
    }

    /// <summary>An ATC hit after the unmap and before the SMMU's TLBI (which comes before the CMD_ATC_INV) is in flight too,
    /// even when the TLBI runs before its verdict.</summary>
    [Fact]
    public void AnAtcHitRacingWithTheTlbiIsNotReported()
    {
        using var atc = new DeviceTlb(_smmu, Sid, capacity: 64);
        var read = new DmaRequest(Sid, null, 0x1008, DmaAccess.Read);
        Assert.Equal(AtcOutcome.Filled, atc.Translate(read, out _));
        _memory.WriteUInt64(_driver.DescriptorAddress(_ttb, 0, 0x1000, 3), 0);
        BeforeNextVerdict(() => Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.TlbiNhVa(Asid, 0x1000))));
        Assert.Equal(AtcOutcome.Hit, atc.Translate(read, out _));
        Assert.Null(_smmu.SanitizerVerdictHook);
        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.AtcInv(Sid, 0x1000, size: 0)));
        Assert.Equal(AtcOutcome.NotPresent, atc.Translate(read, out _));
        Assert.Empty(_sanitizer.GetReports());
    }

    /// <summary>A command that really is missing is still named when nothing moves between the comparison and the
    /// verdict.</summary>
    [Fact]
    public void AMissingTlbiIsStillNamedWhenNothingMovesBeforeTheVerdict()
    {
        Assert.Equal(0x2000UL, Dma(0x1000).Hpa);
        _memory.WriteUInt64(_driver.DescriptorAddress(_ttb, 0, 0x1000, 3), 0);
        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.TlbiNhVa(Asid, 0x3000)));  // the wrong page
        BeforeNextVerdict(() => { });
        Assert.Equal(0x2000UL, Dma(0x1000).Hpa);
        Assert.Null(_smmu.SanitizerVerdictHook);
        Assert.Equal("CMD_TLBI_NH_VA VMID 0 ASID 7 Addr 0x1000, CMD_SYNC", Assert.Single(_sanitizer.GetReports()).MissingInvalidation);
    }
}
