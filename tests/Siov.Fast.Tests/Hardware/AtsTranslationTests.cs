using Siov.Fast.Ats;

namespace Siov.Fast.Tests.Hardware;

/// <summary>
/// ATS at the unit (VT-d spec 4.2): translation completions checked against data entries computed here by hand from the
/// PCIe layout (R bit 0, W bit 1, Exe bit 7, Priv bit 8, S bit 11, address 63:12 with the size in its low ones), the
/// context entry's DTE (or legacy TT = 01b) gating translation requests and translated requests, and the page-level
/// outcomes that are a success with R = W = 0 rather than a fault.
/// </summary>
public sealed class AtsTranslationTests : IDisposable
{
    private const int Bus = 3, Devfn = 0;
    private const ushort Did = 9;
    private static readonly ushort Sid = SpecDriver.SourceId(Bus, 0, 0);
    private const ulong Iova4K = 0x4000_1000, Iova2M = 0x8020_0000;

    private readonly SpecRig _rig = SpecRig.Scalable();
    private ulong _page4K, _page2M;

    public void Dispose() => _rig.Dispose();

    private void Setup(bool deviceTlb, DmaProtection protection = DmaProtection.ReadWrite)
    {
        _rig.Driver.Boot(scalable: true);
        _rig.Driver.AttachScalable(Bus, Devfn, pasidEnable: true, deviceTlb: deviceTlb);
        var table = new SecondLevelTable(_rig.Memory, 4);
        _page4K = _rig.Memory.Frames.Allocate();
        _page2M = 0x0200_0000; // a 2 MiB-aligned block inside the 64 MiB of memory
        table.Map(Iova4K, _page4K, 0x1000, protection);
        table.Map(Iova2M, _page2M, 0x20_0000, protection);
        _rig.Driver.SetPasidSecondLevel(Bus, Devfn, 0, Did, table);
    }

    [Fact]
    public void FourKiBPageCompletesWithItsAddressAndRw()
    {
        Setup(deviceTlb: true);
        AtsCompletion c = _rig.Unit.TranslateForAts(new DmaRequest(Sid, null, Iova4K + 0x123, DmaAccess.ReadWrite));
        Assert.Equal(AtsCompletionStatus.Success, c.Status);
        Assert.Equal(_page4K | 0b11, c.DataEntry); // S = 0, R = W = 1
        Assert.Equal(_page4K + 0x123, c.Translate(Iova4K + 0x123));
        Assert.Equal(12, c.SizeShift);
    }

    [Fact]
    public void TwoMiBPageCompletesAsARangeWithS()
    {
        Setup(deviceTlb: true);
        AtsCompletion c = _rig.Unit.TranslateForAts(new DmaRequest(Sid, null, Iova2M + 0x1_2345, DmaAccess.Write));
        // S (bit 11) set; address bits 19:12 all ones and bit 20 clear: 2^21 bytes.
        Assert.Equal(_page2M | 0xFF000 | 1UL << 11 | 0b11, c.DataEntry);
        Assert.Equal(_page2M, c.TranslatedAddress);
        Assert.Equal(21, c.SizeShift);
        Assert.Equal(_page2M + 0x1_2345, c.Translate(Iova2M + 0x1_2345));
    }

    [Fact]
    public void ReadOnlyRequestGetsNoWrite()
    {
        Setup(deviceTlb: true);
        AtsCompletion c = _rig.Unit.TranslateForAts(new DmaRequest(Sid, null, Iova4K, DmaAccess.Read));
        Assert.Equal(_page4K | 0b01, c.DataEntry);
    }

    [Fact]
    public void ReadOnlyPageGrantsReadToAWriteRequest()
    {
        Setup(deviceTlb: true, DmaProtection.Read);
        AtsCompletion c = _rig.Unit.TranslateForAts(new DmaRequest(Sid, null, Iova4K, DmaAccess.Write));
        Assert.Equal(_page4K | 0b01, c.DataEntry);
        Assert.Empty(_rig.Driver.DrainFaults());
    }

    [Fact]
    public void MissingPageIsASuccessWithNoPermissionAndNoFault()
    {
        Setup(deviceTlb: true);
        AtsCompletion c = _rig.Unit.TranslateForAts(new DmaRequest(Sid, null, 0x7000_0000, DmaAccess.ReadWrite));
        Assert.Equal(AtsCompletionStatus.Success, c.Status);
        Assert.Equal(0x7000_0000UL, c.DataEntry); // R = W = 0
        Assert.Empty(_rig.Driver.DrainFaults());
        Assert.Equal(0, _rig.FaultEvents.Count);
    }

    [Fact]
    public void DteClearBlocksTranslationRequestsWithFault44()
    {
        Setup(deviceTlb: false);
        AtsCompletion c = _rig.Unit.TranslateForAts(new DmaRequest(Sid, null, Iova4K, DmaAccess.Read));
        Assert.Equal(AtsCompletionStatus.UnsupportedRequest, c.Status);
        Assert.Equal(0UL, c.DataEntry);
        FaultRecord record = Assert.Single(_rig.Driver.DrainFaults());
        Assert.Equal(0x44, record.Reason);
        Assert.Equal(Sid, record.SourceId);
    }

    [Fact]
    public void TranslatedRequestsPassOnlyWithDte()
    {
        Setup(deviceTlb: true);
        TranslationResult r = _rig.Unit.Translate(DmaRequest.Translated(Sid, null, _page4K + 8, DmaAccess.Write));
        Assert.True(r.IsSuccess);
        Assert.Equal(_page4K + 8, r.Hpa);

        // The address is not walked: an HPA that no table maps still passes.
        Assert.True(_rig.Unit.Translate(DmaRequest.Translated(Sid, null, 0x3F0_0000, DmaAccess.Read)).IsSuccess);
    }

    [Fact]
    public void TranslatedRequestWithoutDteFaults44()
    {
        Setup(deviceTlb: false);
        TranslationResult r = _rig.Unit.Translate(DmaRequest.Translated(Sid, null, _page4K, DmaAccess.Read));
        Assert.False(r.IsSuccess);
        Assert.Equal(0x44, (int)r.Fault);
        Assert.Equal(0x44, Assert.Single(_rig.Driver.DrainFaults()).Reason);
    }

    [Fact]
    public void TranslatedRequestsTakeTheSlowPathInABatch()
    {
        Setup(deviceTlb: false);
        // Warm the context and IOTLB with an untranslated request to the same number.
        Assert.True(_rig.Unit.Translate(new DmaRequest(Sid, null, Iova4K, DmaAccess.Read)).IsSuccess);
        DmaRequest[] requests = [DmaRequest.Translated(Sid, null, Iova4K, DmaAccess.Read), new DmaRequest(Sid, null, Iova4K, DmaAccess.Read)];
        var results = new TranslationResult[2];
        _rig.Unit.Translate(requests, results);
        Assert.Equal(0x44, (int)results[0].Fault);
        Assert.Equal(_page4K, results[1].Hpa);
    }

    [Fact]
    public void LegacyContextAllowsAtsOnlyWithTranslationType01()
    {
        using SpecRig rig = SpecRig.LegacyWith(1UL << 2); // ECAP.DT
        rig.Driver.Boot(scalable: false);
        var table = new SecondLevelTable(rig.Memory, 3);
        ulong page = rig.Memory.Frames.Allocate();
        table.Map(0x1000, page, 0x1000, DmaProtection.ReadWrite);
        rig.Driver.AttachLegacy(Bus, 0, Did, table, deviceTlb: true);
        rig.Driver.AttachLegacy(Bus, 8, Did, table, deviceTlb: false);
        Assert.Equal(page | 0b11, rig.Unit.TranslateForAts(new DmaRequest(Sid, null, 0x1000, DmaAccess.Write)).DataEntry);

        ushort other = SpecDriver.SourceId(Bus, 1, 0);
        AtsCompletion blocked = rig.Unit.TranslateForAts(new DmaRequest(other, null, 0x1000, DmaAccess.Write));
        Assert.Equal(AtsCompletionStatus.UnsupportedRequest, blocked.Status);
        Assert.Equal(0x0D, Assert.Single(rig.Driver.DrainFaults()).Reason);
        Assert.True(rig.Unit.Translate(new DmaRequest(other, null, 0x1000, DmaAccess.Write)).IsSuccess); // untranslated DMA is fine
    }

    [Theory]
    [InlineData(0x1000UL, 12, 0x1000UL, false)]
    [InlineData(0x2000UL, 13, 0x2000UL, true)]          // 8 KiB: bit 12 clear
    [InlineData(0x4000UL, 14, 0x5000UL, true)]          // 16 KiB: bit 12 set, 13 clear
    [InlineData(0x20_0000UL, 21, 0x2F_F000UL, true)]    // 2 MiB: bits 19:12 set
    [InlineData(0x4000_0000UL, 30, 0x5FFF_F000UL, true)] // 1 GiB: bits 28:12 set
    public void RangeEncodingMatchesThePcieRule(ulong address, int shift, ulong bits, bool s)
    {
        Assert.Equal((bits, s), AtsAddressRange.Encode(address, shift));
        Assert.Equal((address, shift), AtsAddressRange.Decode(bits, s));
    }

    [Fact]
    public void AllOnesIsTheWholeAddressSpace()
    {
        Assert.Equal((0UL, 64), AtsAddressRange.Decode(0xFFFF_FFFF_FFFF_F000, true));
        Assert.Equal((0UL, 64), AtsAddressRange.Decode(0x7FFF_FFFF_FFFF_F000, true));
    }
}
