using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Memory;

namespace Siov.Fast.Tests.Hardware.SmmuV3;

/// <summary>
/// The SMMUv3 model driven by <see cref="SmmuSpecDriver"/> (written from Arm IHI 0070, independent of the engine's
/// drivers): boot through registers and memory, stage 1, stage 2 and nested translation through tables written here bit
/// by bit (AArch64 4 KiB granule), each listed event from a bad configuration or address, CMD_SYNC's completion, an
/// illegal command, and the caches that keep old configuration and translations until the commands that invalidate them.
/// </summary>
public sealed class SmmuSpecTests : IDisposable
{
    private const ulong Table = 0b11, Page = 0b11, Block = 0b01, Af = 1UL << 10, ApUser = 1UL << 6, ApReadOnly = 1UL << 7;
    private const ulong S2Read = 1UL << 6, S2Write = 1UL << 7;
    private const uint S1 = 5, S2 = 6, Nested = 7, Bypass = 4, Abort = 0;
    private const ushort Sid = 0x12;
    private readonly PhysicalMemory _memory = new(64UL << 20);
    private Smmu _smmu;
    private SmmuSpecDriver _driver;

    public SmmuSpecTests()
    {
        _smmu = new Smmu(_memory);
        _driver = new SmmuSpecDriver(_smmu, _memory);
    }

    public void Dispose()
    {
        _smmu.Dispose();
        _memory.Dispose();
    }

    private static ulong Index(ulong va, int level) => (va >> (12 + 9 * (3 - level))) & 511;

    private void Map(ulong root, int start, ulong va, int leafLevel, ulong leaf)
    {
        ulong table = root;
        for (int level = start; level < leafLevel; level++)
        {
            ulong slot = table + Index(va, level) * 8;
            ulong entry = _memory.ReadUInt64(slot);
            if ((entry & 1) == 0)
            {
                entry = _memory.Frames.Allocate() | Table;
                _memory.WriteUInt64(slot, entry);
            }
            table = entry & 0xFFFF_FFFF_F000;
        }
        _memory.WriteUInt64(table + Index(va, leafLevel) * 8, leaf);
    }

    private TranslationResult Dma(ulong iova, DmaAccess access = DmaAccess.Read, uint? ssid = null, ushort sid = Sid) =>
        _smmu.Translate(new DmaRequest(sid, ssid, iova, access));

    /// <summary>A stage 1 stream: a linear CD table of 2^cdMax CDs, CD <paramref name="ssid"/> over a fresh 48-bit table.</summary>
    private (ulong CdTable, ulong Ttb) Stage1Stream(int cdMax = 0, uint ssid = 0, ushort asid = 1, int s1dss = 0)
    {
        ulong cdTable = _memory.Frames.AllocateContiguous(Math.Max(1, (64 << cdMax) / 4096));
        ulong ttb = _memory.Frames.Allocate();
        SmmuSpecDriver.WriteCd(_memory, cdTable + ssid * 64, ttb, asid);
        _driver.WriteSte(Sid, S1, cdTable, cdMax, s1dss);
        return (cdTable, ttb);
    }

    [Fact]
    public void ResetStateAbortsUntilEnabledThenBypassWhenGbpaSaysSo()
    {
        Assert.False(_smmu.Enabled);
        Assert.Equal(Smmu.AbortWithoutEvent, (byte)Smmu.EventOf(Dma(0x1000)));
        _driver.Write32(SmmuSpecDriver.Gbpa, 1u << 31); // UPDATE, ABORT clear: bypass
        Assert.Equal(0x1000UL, Dma(0x1000).Hpa);
        _driver.Boot();
        Assert.True(_smmu.Enabled);
        Assert.Equal(SmmuSpecDriver.EvtqEn | SmmuSpecDriver.CmdqEn | SmmuSpecDriver.SmmuEn, _driver.Read32(SmmuSpecDriver.Cr0Ack));
    }

    [Fact]
    public void Stage1TranslatesPagesAndBlocks()
    {
        _driver.Boot();
        (_, ulong ttb) = Stage1Stream();
        Map(ttb, 0, 0x4000_1000, 3, 0x80_2000 | Page | Af | ApUser);
        Map(ttb, 0, 0x8020_0000, 2, 0x60_0000 | Block | Af | ApUser | ApReadOnly);
        TranslationResult page = Dma(0x4000_1234, DmaAccess.Write);
        Assert.Equal((0x80_2234UL, 0x1000UL, DmaProtection.ReadWrite), (page.Hpa, page.PageSize, page.Permissions));
        TranslationResult block = Dma(0x8021_0008);
        Assert.Equal((0x61_0008UL, 0x20_0000UL, DmaProtection.Read), (block.Hpa, block.PageSize, block.Permissions));
        Assert.Equal(SmmuEventType.Permission, Smmu.EventOf(Dma(0x8021_0008, DmaAccess.Write)));
        var ev = Assert.Single(_driver.DrainEvents());
        Assert.Equal((0x13, (uint)Sid, (uint?)null, 0x8021_0008UL), (ev.Type, ev.Sid, ev.Ssid, ev.W2));
        Assert.Equal(0UL, (ev.W1 >> 35) & 1); // RnW = 0: a write
    }

    [Fact]
    public void Stage2AndNested()
    {
        _driver.Boot();
        ulong s2 = _memory.Frames.Allocate();
        // Stage 2: a 40-bit IPA starting at level 1 (S2SL0 = 1); identity 2 MiB blocks for the low 32 MiB, except IPA
        // 0x100_0000 -> PA 0x180_0000 and read-only.
        for (ulong ipa = 0; ipa < (32UL << 20); ipa += 0x20_0000)
            Map(s2, 1, ipa, 2, (ipa == 0x100_0000 ? 0x180_0000 | S2Read : ipa | S2Read | S2Write) | Block | Af);
        _driver.WriteSte(Sid, S2, vmid: 3, s2ttb: s2);
        Assert.Equal(0x180_0010UL, Dma(0x100_0010).Hpa);
        Assert.Equal(SmmuEventType.Permission, Smmu.EventOf(Dma(0x100_0010, DmaAccess.Write)));
        var s2fault = Assert.Single(_driver.DrainEvents());
        Assert.Equal(1UL, (s2fault.W1 >> 39) & 1);                 // S2
        Assert.Equal(2UL, (s2fault.W1 >> 40) & 3);                 // CLASS = IN
        Assert.Equal(0x100_0000UL, s2fault.W3 & 0x000F_FFFF_FFFF_F000);

        // Nested: stage 1 tables and CD at IPAs (identity here), output IPA 0x100_0000 through stage 2.
        ulong cdTable = _memory.Frames.Allocate(), ttb = _memory.Frames.Allocate();
        SmmuSpecDriver.WriteCd(_memory, cdTable, ttb, asid: 9);
        Map(ttb, 0, 0x7000_0000, 3, 0x100_0000 | Page | Af | ApUser);
        _driver.WriteSte(0x13, Nested, cdTable, vmid: 4, s2ttb: s2);
        Assert.Equal(0x180_0abcUL, Dma(0x7000_0abc, sid: 0x13).Hpa);
        Assert.Equal(SmmuEventType.Permission, Smmu.EventOf(Dma(0x7000_0abc, DmaAccess.Write, sid: 0x13)));
    }

    [Fact]
    public void EachConfigurationEventFromABadConfiguration()
    {
        _driver.Boot();
        Assert.Equal(SmmuEventType.BadStreamId, Smmu.EventOf(Dma(0, sid: 0x100)));            // beyond LOG2SIZE 8
        Assert.Equal(SmmuEventType.BadSte, Smmu.EventOf(Dma(0, sid: 0x20)));                  // V = 0
        _driver.WriteSte(0x21, 2);                                                             // Config 010b: reserved
        Assert.Equal(SmmuEventType.BadSte, Smmu.EventOf(Dma(0, sid: 0x21)));
        (ulong cdTable, _) = Stage1Stream(cdMax: 2, ssid: 1, s1dss: 0);
        Assert.Equal(SmmuEventType.StreamDisabled, Smmu.EventOf(Dma(0)));                     // no SSID, S1DSS terminate
        Assert.Equal(SmmuEventType.BadSubstreamId, Smmu.EventOf(Dma(0, ssid: 4)));            // beyond S1CDMax 2
        Assert.Equal(SmmuEventType.BadCd, Smmu.EventOf(Dma(0, ssid: 2)));                     // CD 2: V = 0
        SmmuSpecDriver.WriteCd(_memory, cdTable + 3 * 64, 0, 1, aa64: false);
        Assert.Equal(SmmuEventType.BadCd, Smmu.EventOf(Dma(0, ssid: 3)));                     // AA64 = 0
        _driver.WriteSte(0x22, S1, cdTable: 1UL << 40);                                        // CD table outside memory
        Assert.Equal(SmmuEventType.CdFetch, Smmu.EventOf(Dma(0, sid: 0x22)));
        _driver.WriteSte(0x23, Abort);
        Assert.Equal(Smmu.AbortWithoutEvent, (byte)Smmu.EventOf(Dma(0, sid: 0x23)));         // abort: no event
        _driver.WriteSte(0x24, Bypass);
        Assert.Equal(0x1234UL, Dma(0x1234, sid: 0x24).Hpa);

        var events = _driver.DrainEvents();
        Assert.Equal([0x02, 0x04, 0x04, 0x06, 0x08, 0x0A, 0x0A, 0x09], events.Select(e => e.Type));
        Assert.Equal([0x100u, 0x20, 0x21, Sid, Sid, Sid, Sid, 0x22], events.Select(e => e.Sid));
        Assert.Equal([null, null, null, null, 4u, 2u, 3u, null], events.Select(e => e.Ssid));
        Assert.Equal(1UL << 40, events[^1].W3 & ~7UL);                                         // F_CD_FETCH: the fetch address
    }

    [Fact]
    public void EachTranslationEventFromABadAddress()
    {
        _driver.Boot();
        (_, ulong ttb) = Stage1Stream(cdMax: 0);
        Map(ttb, 0, 0x1000, 3, 0x2000 | Page | ApUser);                  // AF clear
        Map(ttb, 0, 0x5000, 3, 0x6000 | Page | Af);                      // privileged only
        Assert.Equal(SmmuEventType.Translation, Smmu.EventOf(Dma(0x9_0000)));
        Assert.Equal(SmmuEventType.Access, Smmu.EventOf(Dma(0x1000)));
        Assert.Equal(SmmuEventType.Permission, Smmu.EventOf(Dma(0x5000)));
        Assert.True(_smmu.Translate(new DmaRequest(Sid, null, 0x5000, DmaAccess.Read)).IsSuccess == false);
        // A privileged transaction (PnU) may use it; with an SSID on a stream whose S1CDMax is 0: C_BAD_SUBSTREAMID.
        Assert.True(_smmu.Translate(new DmaRequest(Sid, 0, 0x5000, DmaAccess.Read, DmaRequestAttributes.Privileged)).IsSuccess == false);
        Assert.Equal([0x10, 0x12, 0x13, 0x13, 0x08], _driver.DrainEvents().Select(e => e.Type));
    }

    [Fact]
    public void AddressSizeFault()
    {
        using var memory = new PhysicalMemory(16UL << 20);
        using var smmu = new Smmu(memory, new SmmuOptions { Idr5 = 0x10 | 2 }); // OAS 40 bits
        var driver = new SmmuSpecDriver(smmu, memory);
        driver.Boot();
        ulong cd = memory.Frames.Allocate(), ttb = memory.Frames.Allocate(), l1 = memory.Frames.Allocate(), l2 = memory.Frames.Allocate(), l3 = memory.Frames.Allocate();
        SmmuSpecDriver.WriteCd(memory, cd, ttb, 1);
        driver.WriteSte(1, S1, cd);
        memory.WriteUInt64(ttb, l1 | Table);
        memory.WriteUInt64(l1, l2 | Table);
        memory.WriteUInt64(l2, l3 | Table);
        memory.WriteUInt64(l3 + 8, (1UL << 44) | Page | Af | ApUser);   // 44-bit output address, OAS 40
        Assert.Equal(SmmuEventType.AddressSize, Smmu.EventOf(smmu.Translate(new DmaRequest(1, null, 0x1000, DmaAccess.Read))));
        Assert.Equal(0x11, Assert.Single(driver.DrainEvents()).Type);
    }

    [Fact]
    public void SyncCompletesWithItsMsiWriteAndAnIllegalCommandStopsTheQueue()
    {
        _driver.Boot();
        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.CfgiAll()));
        _driver.Submit((0x7F, 0));                                      // an opcode the SMMU does not know
        Assert.Equal(1u, (_driver.Read32(SmmuSpecDriver.CmdqCons) >> 24) & 0x7F); // CERROR_ILL
        uint gerror = _driver.Read32(SmmuSpecDriver.Gerror);
        Assert.Equal(1u, (gerror ^ _driver.Read32(SmmuSpecDriver.Gerrorn)) & 1); // CMDQ_ERR active
        Assert.False(_driver.SubmitAndSync());                            // stopped: the sync behind it does not run

        // Software replaces the bad command with a CMD_SYNC (no signal) and acknowledges: the queue goes on.
        uint cons = _driver.Read32(SmmuSpecDriver.CmdqCons) & 63;
        ulong cmdq = _smmu.Read(SmmuSpecDriver.CmdqBase, 8) & 0x000F_FFFF_FFFF_FFE0;
        _memory.WriteUInt64(cmdq + cons * 16, 0x46);
        _memory.WriteUInt64(cmdq + cons * 16 + 8, 0);
        _driver.Write32(SmmuSpecDriver.Gerrorn, gerror);
        Assert.Equal(0u, (_driver.Read32(SmmuSpecDriver.CmdqCons) >> 24) & 0x7F);
        Assert.True(_driver.SubmitAndSync());
    }

    /// <summary>CMD_TLBI_NH_VA with TG, NUM and SCALE (SMMU_IDR3.RIL, bit 10, set by default): (NUM + 1) * 2^SCALE
    /// granules from the address. Here TG 1 (4 KiB), NUM 2, SCALE 1: six pages from page 1, so pages 1-6 see the new
    /// tables and pages 0 and 7 keep their stale TLB entries. Without RIL the range fields are ignored: one page.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RangeTlbiInvalidatesNumPlusOneTimesTwoToTheScaleGranules(bool ril)
    {
        if (!ril)
        {
            _smmu.Dispose();
            _smmu = new Smmu(_memory, new SmmuOptions { Idr3 = 0 });
            _driver = new SmmuSpecDriver(_smmu, _memory);
        }
        Assert.Equal(ril ? 1u << 10 : 0, _driver.Read32(0x0C) & (1u << 10));
        _driver.Boot();
        (_, ulong ttb) = Stage1Stream(asid: 7);
        for (ulong p = 0; p < 8; p++)
            Map(ttb, 0, 0x10_0000 + p * 0x1000, 3, (0x20_0000 + p * 0x1000) | Page | Af | ApUser);
        for (ulong p = 0; p < 8; p++)
        {
            Assert.Equal(0x20_0000 + p * 0x1000, Dma(0x10_0000 + p * 0x1000).Hpa);
            Assert.Equal(0x20_0000 + p * 0x1000, Dma(0x10_0000 + p * 0x1000).Hpa);   // now from the TLB
        }
        for (ulong p = 0; p < 8; p++)
            Map(ttb, 0, 0x10_0000 + p * 0x1000, 3, (0x30_0000 + p * 0x1000) | Page | Af | ApUser);
        // Word 0: opcode 0x12, NUM 2 (bits 16:12), SCALE 1 (bits 24:20), ASID 7 (63:48); word 1: address, TG 1 (11:10), Leaf.
        ulong w0 = 0x12 | 2UL << 12 | 1UL << 20 | 7UL << 48, w1 = 0x10_1000UL | 1UL << 10 | 1;
        Assert.True(_driver.SubmitAndSync((w0, w1)));
        for (ulong p = 0; p < 8; p++)
        {
            bool invalidated = ril ? p is >= 1 and <= 6 : p == 1;
            Assert.Equal((invalidated ? 0x30_0000UL : 0x20_0000UL) + p * 0x1000, Dma(0x10_0000 + p * 0x1000).Hpa);
        }
    }

    [Fact]
    public void CachesHoldOldStateUntilTheCommandsThatInvalidateThem()
    {
        _driver.Boot();
        (ulong cdTable, ulong ttb) = Stage1Stream(asid: 7);
        Map(ttb, 0, 0x1000, 3, 0x2000 | Page | Af | ApUser);
        Assert.Equal(0x2000UL, Dma(0x1000).Hpa);

        // A page-table change without TLBI: the TLB still answers the old page; CMD_TLBI_NH_VA + SYNC: the new one.
        Map(ttb, 0, 0x1000, 3, 0x3000 | Page | Af | ApUser);
        Assert.Equal(0x2000UL, Dma(0x1000).Hpa);
        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.TlbiNhVa(7, 0x1000)));
        Assert.Equal(0x3000UL, Dma(0x1000).Hpa);

        // A CD change (a new ASID and table) without CMD_CFGI_CD: the cached CD stays; with it, the new one.
        ulong ttb2 = _memory.Frames.Allocate();
        Map(ttb2, 0, 0x1000, 3, 0x4000 | Page | Af | ApUser);
        SmmuSpecDriver.WriteCd(_memory, cdTable, ttb2, asid: 8);
        Assert.Equal(0x3000UL, Dma(0x1000).Hpa);
        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.CfgiCd(Sid, 0)));
        Assert.Equal(0x4000UL, Dma(0x1000).Hpa);

        // An STE change (abort) without CMD_CFGI_STE: still translating; with it, aborted.
        _driver.WriteSte(Sid, Abort);
        Assert.True(Dma(0x1000).IsSuccess);
        Assert.True(_driver.SubmitAndSync(SmmuSpecDriver.CfgiSte(Sid)));
        Assert.False(Dma(0x1000).IsSuccess);
    }

    /// <summary>Clearing SMMUEN hands transactions to GBPA at once: nothing cached while translating answers afterwards.</summary>
    [Fact]
    public void DisablingTheSmmuStopsCachedTranslations()
    {
        _driver.Boot();
        (_, ulong ttb) = Stage1Stream();
        Map(ttb, 0, 0x1000, 3, 0x2000 | Page | Af | ApUser);
        Assert.Equal(0x2000UL, Dma(0x1000).Hpa);                       // now in the TLB and the configuration cache
        _driver.SetCr0(SmmuSpecDriver.EvtqEn | SmmuSpecDriver.CmdqEn); // SMMUEN clear; GBPA says abort
        Assert.Equal(Smmu.AbortWithoutEvent, (byte)Smmu.EventOf(Dma(0x1000)));
        _driver.SetCr0(SmmuSpecDriver.EvtqEn | SmmuSpecDriver.CmdqEn | SmmuSpecDriver.SmmuEn);
        Assert.Equal(0x2000UL, Dma(0x1000).Hpa);
    }

    [Fact]
    public void EventQueueOverflowLosesEventsAndFlagsIt()
    {
        _driver.Boot();
        for (int i = 0; i < 70; i++) // 64 entries: 64 written, 6 lost
            Dma(0, sid: 0x30);
        Assert.Equal(64, _smmu.EventsRecorded);
        Assert.Equal(6, _smmu.EventsLost);
        Assert.Equal(1u, _driver.Read32(SmmuSpecDriver.EventqProd) >> 31); // OVFLG toggled once
    }
}
