using Microsoft.Extensions.Time.Testing;
using Siov.Fast.Ats;
using Siov.Fast.Drivers.ArmSmmuV3;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.Drivers;

/// <summary>
/// The arm-smmu-v3 driver's role over the SMMUv3 model: it boots the SMMU, writes 2-level stream and CD tables and the
/// AArch64 tables the builder makes, and issues CFGI, TLBI and SYNC where the architecture asks; the SMMU's real caches
/// would keep serving old translations if it did not. Events reach its log in Linux's format. ATS: EATS in the STEs of
/// ATS-enabled streams, CMD_ATC_INV after every TLB invalidation of their domains, at their detach, and at seed 004's aux
/// detach (the departing device's ATC only, every stream of the parent with the last). The SMMU's invalidation sanitizer
/// is on in every test and must find nothing.
/// </summary>
public sealed class ArmSmmuV3DriverTests : IDisposable
{
    private readonly PhysicalMemory _memory = new(128UL << 20);
    private readonly Smmu _smmu;
    private readonly ArmSmmuV3Driver _driver;
    private readonly InvalidationSanitizer _sanitizer;

    public ArmSmmuV3DriverTests()
    {
        _smmu = new Smmu(_memory);
        _sanitizer = _smmu.EnableSanitizer(); // our driver must leave no stale translation in any test
        _driver = new ArmSmmuV3Driver(_smmu, _memory);
    }

    public void Dispose()
    {
        Assert.Empty(_sanitizer.GetReports());
        _smmu.Dispose();
        _memory.Dispose();
    }

    private SecondLevelPageTable Stage1() => new(_memory, new SecondLevelFormat { Stage = PageTableStage.ArmStage1 });

    private TranslationResult Dma(ushort sid, uint? ssid, ulong iova, DmaAccess access = DmaAccess.Read) =>
        _smmu.Translate(new DmaRequest(sid, ssid, iova, access));

    [Fact]
    public void BootsTheSmmuWithTwoLevelStreamTables()
    {
        Assert.True(_smmu.Enabled);
        Assert.Equal(1UL, (_smmu.Read(SmmuRegisters.StrtabBaseCfg, 4) >> 16) & 3); // FMT 2-level
        // A stream the driver has not set up: its level-1 descriptor is invalid (Span 0): C_BAD_STREAMID.
        Assert.Equal(SmmuEventType.BadStreamId, Smmu.EventOf(Dma(0x0100, null, 0)));
    }

    [Fact]
    public void Stage1AttachMapUnmapWithTheTlbInvalidation()
    {
        using SecondLevelPageTable table = Stage1();
        _driver.AttachDevice(0x0100, 3, table);
        ulong page = _memory.Frames.Allocate();
        table.Map(0x10_0000, page, 0x1000, DmaProtection.ReadWrite);
        Assert.Equal(page + 0x10, Dma(0x0100, null, 0x10_0010, DmaAccess.Write).Hpa);

        table.Unmap(0x10_0000, 0x1000);
        Assert.True(Dma(0x0100, null, 0x10_0010).IsSuccess);         // the TLB still holds it: the flush is the driver's job
        _driver.FlushIotlbRange(3, null, 0x10_0000, 0x1000);
        Assert.Equal(SmmuEventType.Translation, Smmu.EventOf(Dma(0x0100, null, 0x10_0010)));
    }

    /// <summary>With SMMU_IDR3.RIL the driver cuts an unmap into range CMD_TLBI_NH_VA commands as Linux does: 37 pages are
    /// 5 pages (SCALE 0, NUM 4) then 32 (SCALE 5, NUM 0), two commands and a CMD_SYNC instead of 37.</summary>
    [Fact]
    public void UnmapsAreInvalidatedWithRangeCommands()
    {
        Assert.True(_driver.RangeInvalidation);
        using SecondLevelPageTable table = Stage1();
        _driver.AttachDevice(0x0100, 3, table);
        ulong frames = _memory.Frames.AllocateContiguous(37);
        table.Map(0x40_0000, frames, 37 * 0x1000, DmaProtection.ReadWrite);
        for (ulong p = 0; p < 37; p++)
            Assert.Equal(frames + p * 0x1000, Dma(0x0100, null, 0x40_0000 + p * 0x1000).Hpa);
        table.Unmap(0x40_0000, 37 * 0x1000);
        long before = _smmu.CommandsExecuted;
        _driver.FlushIotlbRange(3, null, 0x40_0000, 37 * 0x1000);
        Assert.Equal(3, _smmu.CommandsExecuted - before);
        for (ulong p = 0; p < 37; p++)
            Assert.Equal(SmmuEventType.Translation, Smmu.EventOf(Dma(0x0100, null, 0x40_0000 + p * 0x1000)));
    }

    [Fact]
    public void PasidsGetCdsInTheParentDomainsTwoLevelCdTable()
    {
        using SecondLevelPageTable parent = Stage1(), a = Stage1(), b = Stage1();
        ulong pa = _memory.Frames.Allocate(), pb = _memory.Frames.Allocate();
        a.Map(0x1000, pa, 0x1000, DmaProtection.ReadWrite);
        b.Map(0x1000, pb, 0x1000, DmaProtection.ReadWrite);
        _driver.AttachDevice(0x0200, 9, parent);
        _driver.SetDevicePasid(0x0200, 5, 10, a);
        _driver.SetDevicePasid(0x0200, 300, 11, b);                      // another level-2 CD table (SSID >> 8 = 1)
        Assert.Equal(pa, Dma(0x0200, 5, 0x1000).Hpa);
        Assert.Equal(pb, Dma(0x0200, 300, 0x1000).Hpa);
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => _driver.SetDevicePasid(0x0200, 5, 12, b)).Code);

        // Clearing a CD: invalid, CMD_CFGI_CD, the ASID's TLB entries gone: the PASID faults with C_BAD_CD.
        _driver.RemoveDevicePasid(0x0200, 5);
        Assert.Equal(SmmuEventType.BadCd, Smmu.EventOf(Dma(0x0200, 5, 0x1000)));
        Assert.Equal(pb, Dma(0x0200, 300, 0x1000).Hpa);
        Assert.Equal(Errno.ENOENT, Assert.Throws<IommuException>(() => _driver.RemoveDevicePasid(0x0200, 5)).Code);
    }

    /// <summary>An aux domain's CD sits in the CD table of the device it is attached to (the master's table): a neighbour
    /// attached to the same parent domain does not reach it until it attaches the aux domain too. With the last CD holding
    /// the aux domain's ASID the driver invalidates the ASID, so a later domain with that ASID sees no stale entry.</summary>
    [Fact]
    public void AnAuxCdSitsInTheDevicesOwnCdTable()
    {
        using SecondLevelPageTable parent = Stage1(), aux = Stage1(), later = Stage1();
        ulong page = _memory.Frames.Allocate(), other = _memory.Frames.Allocate();
        aux.Map(0x1000, page, 0x1000, DmaProtection.ReadWrite);
        later.Map(0x1000, other, 0x1000, DmaProtection.ReadWrite);
        _driver.AttachDevice(0x0200, 9, parent);
        _driver.AttachDevice(0x0201, 9, parent);
        _driver.SetDevicePasid(0x0200, 5, 10, aux);
        Assert.Equal(page, Dma(0x0200, 5, 0x1000).Hpa);
        Assert.Equal(SmmuEventType.BadCd, Smmu.EventOf(Dma(0x0201, 5, 0x1000)));  // the neighbour's table has no CD 5
        _driver.SetDevicePasid(0x0201, 5, 10, aux);
        Assert.Equal(page, Dma(0x0201, 5, 0x1000).Hpa);
        _driver.RemoveDevicePasid(0x0200, 5);
        Assert.Equal(SmmuEventType.BadCd, Smmu.EventOf(Dma(0x0200, 5, 0x1000)));
        Assert.Equal(page, Dma(0x0201, 5, 0x1000).Hpa);                // its own CD stays, ASID 10 still in use
        _driver.RemoveDevicePasid(0x0201, 5);
        Assert.Equal(SmmuEventType.BadCd, Smmu.EventOf(Dma(0x0201, 5, 0x1000)));
        _driver.SetDevicePasid(0x0200, 7, 10, later);                     // ASID 10 for another table now
        Assert.Equal(other, Dma(0x0200, 7, 0x1000).Hpa);
        Assert.Equal(other, Dma(0x0200, 7, 0x1000).Hpa);                 // from the TLB: no entry of the old table survived
    }

    [Fact]
    public void AnAuxCdNeedsAStage1ParentAndHoldsTheStreamAttached()
    {
        using SecondLevelPageTable parent = Stage1(), aux = Stage1();
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => _driver.SetDevicePasid(0x0300, 5, 10, aux)).Code);
        _driver.AttachDevice(0x0301, 0, null);                           // bypass: no CD table
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => _driver.SetDevicePasid(0x0301, 5, 10, aux)).Code);

        _driver.AttachDevice(0x0300, 9, parent);
        _driver.SetDevicePasid(0x0300, 5, 10, aux);
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => _driver.DetachDevice(0x0300)).Code);
        Assert.True(Dma(0x0300, 5, 0x1000) is { IsSuccess: false } r && Smmu.EventOf(r) == SmmuEventType.Translation);
        _driver.RemoveDevicePasid(0x0300, 5);
        _driver.DetachDevice(0x0300);
        Assert.Equal(Smmu.AbortWithoutEvent, (byte)Smmu.EventOf(Dma(0x0300, null, 0x1000)));
    }

    /// <summary>The last stream of a domain takes its ASID's TLB entries with it, so the ASID can serve another domain.</summary>
    [Fact]
    public void TheLastDetachInvalidatesTheAsidForItsNextDomain()
    {
        using SecondLevelPageTable first = Stage1(), second = Stage1();
        ulong old = _memory.Frames.Allocate(), fresh = _memory.Frames.Allocate();
        first.Map(0x1000, old, 0x1000, DmaProtection.ReadWrite);
        second.Map(0x1000, fresh, 0x1000, DmaProtection.ReadWrite);
        _driver.AttachDevice(0x0100, 3, first);
        Assert.Equal(old, Dma(0x0100, null, 0x1000).Hpa);              // walked, then cached under ASID 3
        Assert.Equal(old, Dma(0x0100, null, 0x1000).Hpa);
        _driver.DetachDevice(0x0100);
        _driver.AttachDevice(0x0100, 3, second);
        Assert.Equal(fresh, Dma(0x0100, null, 0x1000).Hpa);            // a walk: the configuration was not cached
        Assert.Equal(fresh, Dma(0x0100, null, 0x1000).Hpa);            // the TLB under ASID 3
    }

    [Fact]
    public void BypassStage2AndDetach()
    {
        _driver.AttachDevice(0x0400, 0, null);
        Assert.Equal(0x1234_5678UL, Dma(0x0400, null, 0x1234_5678).Hpa);

        using var table = new SecondLevelPageTable(_memory, new SecondLevelFormat { Stage = PageTableStage.ArmStage2, Levels = 3 });
        ulong page = _memory.Frames.Allocate();
        table.Map(0x4000_0000, page, 0x1000, DmaProtection.Read);
        _driver.AttachDevice(0x0300, 7, table);
        Assert.Equal(page + 8, Dma(0x0300, null, 0x4000_0008).Hpa);
        _driver.DetachDevice(0x0300);
        Assert.Equal(Smmu.AbortWithoutEvent, (byte)Smmu.EventOf(Dma(0x0300, null, 0x4000_0008)));
    }

    [Fact]
    public void EventsReachTheLogInLinuxFormat()
    {
        using SecondLevelPageTable table = Stage1();
        _driver.AttachDevice(0x0100, 3, table);
        Assert.Equal(SmmuEventType.Translation, Smmu.EventOf(Dma(0x0100, null, 0x5000)));
        IReadOnlyList<string> log = _driver.EventLog;
        Assert.Equal(5, log.Count);
        Assert.Equal("arm-smmu-v3.0.auto: event 0x10 received:", log[0]);
        Assert.Equal("arm-smmu-v3.0.auto: \t0x0000010000000010", log[1]);      // StreamID 0x100 in 63:32, EventID 0x10
        Assert.Equal("arm-smmu-v3.0.auto: \t0x0000000000005000", log[3]);      // the input address
    }

    [Fact]
    public void WrongFormatsAndRangesAreRefused()
    {
        using var vtd = new SecondLevelPageTable(_memory);
        using SecondLevelPageTable s1 = Stage1();
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => _driver.AttachDevice(1, 1, vtd)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => _driver.AttachDevice(1, 0, s1)).Code);
        _driver.AttachDevice(1, 1, s1);
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => _driver.AttachDevice(1, 1, s1)).Code);
        Assert.Equal(Errno.ERANGE, Assert.Throws<IommuException>(() => _driver.SetDevicePasid(1, 1u << 20, 2, s1)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => _driver.SetDevicePasid(1, 0, 2, s1)).Code);
        Assert.Equal(Errno.EOPNOTSUPP, Assert.Throws<IommuException>(() => _driver.SetDevicePasid(1, 3, 2, null)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => _driver.FlushIotlbRange(1, null, 0x1000, 0)).Code);
        Assert.Equal(Errno.ENOENT, Assert.Throws<IommuException>(() => _driver.DetachDevice(0x7700)).Code);
    }

    // ---- ATS ------------------------------------------------------------------------------------------------------

    private static DmaRequest Read(ushort sid, uint? ssid, ulong iova) => new(sid, ssid, iova, DmaAccess.Read);

    [Fact]
    public void EnableDeviceAtsPutsEatsInTheStreamsStes()
    {
        Assert.NotEqual(0UL, _smmu.Read(SmmuRegisters.Cr0Ack, 4) & SmmuRegisters.Cr0Fields.AtsCheck.Mask); // ATSCHK at boot
        Assert.True(_driver.EnableDeviceAts(0x0100, pageRequests: true));
        Assert.True(_driver.IsAtsEnabled(0x0100));
        using SecondLevelPageTable table = Stage1();
        ulong page = _memory.Frames.Allocate();
        table.Map(0x1000, page, 0x1000, DmaProtection.ReadWrite);
        _driver.AttachDevice(0x0100, 3, table);
        _driver.AttachDevice(0x0101, 3, table);
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => _driver.EnableDeviceAts(0x0101, false)).Code);

        Assert.Equal(page | 0b11, _smmu.TranslateForAts(new DmaRequest(0x0100, null, 0x1000, DmaAccess.ReadWrite)).DataEntry);
        AtsCompletion refused = _smmu.TranslateForAts(new DmaRequest(0x0101, null, 0x1000, DmaAccess.ReadWrite));
        Assert.Equal((AtsCompletionStatus.UnsupportedRequest, SmmuEventType.BadAtsTranslationRequest), (refused.Status, (SmmuEventType)(byte)refused.Fault));
        Assert.Equal(page, _smmu.Translate(DmaRequest.Translated(0x0100, null, page, DmaAccess.Write)).Hpa);
        Assert.Equal(SmmuEventType.TranslationForbidden, Smmu.EventOf(_smmu.Translate(DmaRequest.Translated(0x0101, null, page, DmaAccess.Write))));

        using var memory = new PhysicalMemory(16UL << 20);
        using var noAts = new Smmu(memory, new SmmuOptions { Idr0 = SmmuOptions.Default.Idr0 & ~(uint)SmmuRegisters.Idr0Fields.Ats.Mask });
        Assert.False(new ArmSmmuV3Driver(noAts, memory).EnableDeviceAts(0x0100, false));
    }

    /// <summary>The ATC of an ATS-enabled stream loses an unmapped page with the domain's TLB invalidation
    /// (<c>arm_smmu_atc_inv_domain</c> after the TLBI). Fails if FlushIotlbRange leaves CMD_ATC_INV out.</summary>
    [Fact]
    public void AnUnmappedPageLeavesTheAtcWithFlushIotlbRange()
    {
        _driver.EnableDeviceAts(0x0100, false);
        using SecondLevelPageTable table = Stage1();
        ulong page = _memory.Frames.Allocate();
        table.Map(0x10_0000, page, 0x2000, DmaProtection.ReadWrite);
        _driver.AttachDevice(0x0100, 3, table);
        using var atc = new DeviceTlb(_smmu, 0x0100, capacity: 64);
        Assert.Equal(AtcOutcome.Filled, atc.Translate(Read(0x0100, null, 0x10_0000), out _));
        Assert.Equal(AtcOutcome.Filled, atc.Translate(Read(0x0100, null, 0x10_1000), out _));

        table.Unmap(0x10_1000, 0x1000);
        Assert.Equal(AtcOutcome.Hit, atc.Translate(Read(0x0100, null, 0x10_1000), out _)); // until the driver flushes
        long sent = _smmu.AtcInvalidations;
        _driver.FlushIotlbRange(3, null, 0x10_1000, 0x1000);
        Assert.Equal(sent + 1, _smmu.AtcInvalidations);
        Assert.False(atc.TryTranslate(Read(0x0100, null, 0x10_1000), out _));
        Assert.Equal(AtcOutcome.Hit, atc.Translate(Read(0x0100, null, 0x10_0000), out _)); // a one-page invalidation (Size 0)
        Assert.Equal(AtcOutcome.NotPresent, atc.Translate(Read(0x0100, null, 0x10_1000), out _));
        Assert.True(_sanitizer.Comparisons > 0); // the ATC's hits were checked against memory
    }

    /// <summary>Streams 0x200 and 0x201 with ATS, both on parent domain ASID 9 (IOVA 0x1000 to <c>Own</c>) and both with aux
    /// domain ASID 10 at SSID 5 (IOVA 0x1000 to <c>Page</c>), and an ATC each.</summary>
    private (SecondLevelPageTable Parent, SecondLevelPageTable Aux, ulong Page, ulong Own, DeviceTlb A, DeviceTlb B) TwoDevicesWithAnAuxDomain()
    {
        _driver.EnableDeviceAts(0x0200, false);
        _driver.EnableDeviceAts(0x0201, false);
        SecondLevelPageTable parent = Stage1(), aux = Stage1();
        ulong page = _memory.Frames.Allocate(), own = _memory.Frames.Allocate();
        aux.Map(0x1000, page, 0x1000, DmaProtection.ReadWrite);
        parent.Map(0x1000, own, 0x1000, DmaProtection.ReadWrite);
        _driver.AttachDevice(0x0200, 9, parent);
        _driver.AttachDevice(0x0201, 9, parent);
        _driver.SetDevicePasid(0x0200, 5, 10, aux);
        _driver.SetDevicePasid(0x0201, 5, 10, aux);
        return (parent, aux, page, own, new DeviceTlb(_smmu, 0x0200, capacity: 64), new DeviceTlb(_smmu, 0x0201, capacity: 64));
    }

    /// <summary>An aux domain attached to two devices has a CD in each one's table, so its flush invalidates both ATCs at
    /// its SSID, and only there.</summary>
    [Fact]
    public void AnAuxDomainsFlushInvalidatesEveryAttachedStreamAtItsSsid()
    {
        (SecondLevelPageTable parent, SecondLevelPageTable aux, _, _, DeviceTlb a, DeviceTlb b) = TwoDevicesWithAnAuxDomain();
        using (parent)
        using (aux)
        using (a)
        using (b)
        {
            Assert.Equal(AtcOutcome.Filled, a.Translate(Read(0x0200, 5, 0x1000), out _));
            Assert.Equal(AtcOutcome.Filled, b.Translate(Read(0x0201, 5, 0x1000), out _));
            Assert.Equal(AtcOutcome.Filled, b.Translate(Read(0x0201, null, 0x1000), out _));

            aux.Unmap(0x1000, 0x1000);
            _driver.FlushIotlbRange(10, 5, 0x1000, 0x1000);
            Assert.False(a.TryTranslate(Read(0x0200, 5, 0x1000), out _));
            Assert.False(b.TryTranslate(Read(0x0201, 5, 0x1000), out _));
            Assert.True(b.TryTranslate(Read(0x0201, null, 0x1000), out _));     // SSV: the parent's own entry stays
            _driver.RemoveDevicePasid(0x0200, 5);
            _driver.RemoveDevicePasid(0x0201, 5);
        }
    }

    /// <summary>Seed 004's aux detach: while another device still uses the aux domain, only the departing device's CD is
    /// cleared and only its ATC invalidated at the SSID; the other keeps both until it detaches too.</summary>
    [Fact]
    public void AuxDetachInvalidatesOnlyTheDepartingDevicesAtc()
    {
        (SecondLevelPageTable parent, SecondLevelPageTable aux, ulong page, _, DeviceTlb a, DeviceTlb b) = TwoDevicesWithAnAuxDomain();
        using (parent)
        using (aux)
        using (a)
        using (b)
        {
            Assert.Equal(AtcOutcome.Filled, a.Translate(Read(0x0200, 5, 0x1000), out _));
            Assert.Equal(AtcOutcome.Filled, a.Translate(Read(0x0200, null, 0x1000), out _));
            Assert.Equal(AtcOutcome.Filled, b.Translate(Read(0x0201, 5, 0x1000), out _));

            _driver.RemoveDevicePasid(0x0200, 5);
            Assert.False(a.TryTranslate(Read(0x0200, 5, 0x1000), out _));       // the departing device's ATC at SSID 5
            Assert.True(a.TryTranslate(Read(0x0200, null, 0x1000), out _));     // ...only at SSID 5
            Assert.True(b.TryTranslate(Read(0x0201, 5, 0x1000), out TranslationResult kept)); // the other's survives
            Assert.Equal(page, kept.Hpa);
            Assert.Equal(AtcOutcome.Unsuccessful, a.Translate(Read(0x0200, 5, 0x1000), out _)); // its CD is gone: C_BAD_CD

            _driver.RemoveDevicePasid(0x0201, 5);
            Assert.False(b.TryTranslate(Read(0x0201, 5, 0x1000), out _));
            Assert.True(a.TryTranslate(Read(0x0200, null, 0x1000), out _));
            Assert.Equal(AtcOutcome.Unsuccessful, b.Translate(Read(0x0201, 5, 0x1000), out _));
        }
    }

    /// <summary>A detach writes the abort STE, then invalidates the stream's whole ATC.</summary>
    [Fact]
    public void DetachInvalidatesTheStreamsAtc()
    {
        _driver.EnableDeviceAts(0x0100, false);
        using SecondLevelPageTable table = Stage1();
        table.Map(0x1000, _memory.Frames.Allocate(), 0x1000, DmaProtection.ReadWrite);
        _driver.AttachDevice(0x0100, 3, table);
        using var atc = new DeviceTlb(_smmu, 0x0100, capacity: 64);
        Assert.Equal(AtcOutcome.Filled, atc.Translate(Read(0x0100, null, 0x1000), out _));
        _driver.DetachDevice(0x0100);
        Assert.Equal(0, atc.Count);
        Assert.Equal(AtcOutcome.Unsuccessful, atc.Translate(Read(0x0100, null, 0x1000), out _)); // abort STE: UR
    }

    /// <summary>A function that never answers: the CMD_SYNC fails with CERROR_ATC_INV_SYNC, the driver acknowledges it and
    /// the CMD_SYNC completes when run again; the flush returns.</summary>
    [Fact]
    public void AnUnansweredAtcInvalidationIsAcknowledgedAndTheSyncRunsAgain()
    {
        var clock = new FakeTimeProvider();
        using var memory = new PhysicalMemory(32UL << 20);
        using var smmu = new Smmu(memory, new SmmuOptions { TimeProvider = clock });
        var driver = new ArmSmmuV3Driver(smmu, memory);
        driver.EnableDeviceAts(0x0100, false);
        using var table = new SecondLevelPageTable(memory, new SecondLevelFormat { Stage = PageTableStage.ArmStage1 });
        driver.AttachDevice(0x0100, 3, table);
        smmu.ConnectAtsEndpoint(0x0100, new SilentFunction(clock));
        driver.FlushIotlbRange(3, null, 0x1000, 0x1000);
        Assert.Equal(1, driver.AtcInvalidationTimeouts);
        Assert.Equal(1, smmu.AtcInvalidationTimeouts);
        Assert.Equal(0, smmu.OutstandingAtcInvalidations);
    }

    /// <summary>A function that never answers; a minute passes while the SMMU waits (the fake clock moves when the request
    /// arrives, so the test takes no time).</summary>
    private sealed class SilentFunction(FakeTimeProvider clock) : IAtsEndpoint
    {
        public void OnInvalidationRequest(AtsInvalidationRequest request) => clock.Advance(TimeSpan.FromMinutes(2));

        public void OnPageGroupResponse(PageGroupResponse response)
        {
        }
    }
}
