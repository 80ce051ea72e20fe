using Siov.Fast.Drivers.ArmSmmuV3;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.Drivers;

/// <summary>
/// The arm-smmu-v3 driver's role over the SMMUv3 model: it boots the SMMU, writes 2-level stream and CD tables and the
/// AArch64 tables the builder makes, and issues CFGI, TLBI and SYNC where the architecture asks; the SMMU's real caches
/// would keep serving old translations if it did not. Events reach its log in Linux's format.
/// </summary>
public sealed class ArmSmmuV3DriverTests : IDisposable
{
    private readonly PhysicalMemory _memory = new(128UL << 20);
    private readonly Smmu _smmu;
    private readonly ArmSmmuV3Driver _driver;

    public ArmSmmuV3DriverTests()
    {
        _smmu = new Smmu(_memory);
        _driver = new ArmSmmuV3Driver(_smmu, _memory);
    }

    public void Dispose()
    {
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
        _driver.AttachStage1(0x0100, asid: 3, table);
        ulong page = _memory.Frames.Allocate();
        table.Map(0x10_0000, page, 0x1000, DmaProtection.ReadWrite);
        Assert.Equal(page + 0x10, Dma(0x0100, null, 0x10_0010, DmaAccess.Write).Hpa);

        table.Unmap(0x10_0000, 0x1000);
        Assert.True(Dma(0x0100, null, 0x10_0010).IsSuccess);         // the TLB still holds it: the flush is the driver's job
        _driver.FlushRange(3, 0x10_0000, 0x1000);
        Assert.Equal(SmmuEventType.Translation, Smmu.EventOf(Dma(0x0100, null, 0x10_0010)));
    }

    [Fact]
    public void PasidsGetTheirOwnCdsInTwoLevelCdTables()
    {
        using SecondLevelPageTable a = Stage1(), b = Stage1();
        ulong pa = _memory.Frames.Allocate(), pb = _memory.Frames.Allocate();
        a.Map(0x1000, pa, 0x1000, DmaProtection.ReadWrite);
        b.Map(0x1000, pb, 0x1000, DmaProtection.ReadWrite);
        _driver.SetPasid(0x0200, 5, asid: 10, a);
        _driver.SetPasid(0x0200, 300, asid: 11, b);                      // another level-2 CD table (SSID >> 8 = 1)
        Assert.Equal(pa, Dma(0x0200, 5, 0x1000).Hpa);
        Assert.Equal(pb, Dma(0x0200, 300, 0x1000).Hpa);
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => _driver.SetPasid(0x0200, 5, 12, b)).Code);

        // Clearing a CD: invalid, CMD_CFGI_CD, the ASID's TLB entries gone: the PASID faults with C_BAD_CD.
        _driver.ClearPasid(0x0200, 5);
        Assert.Equal(SmmuEventType.BadCd, Smmu.EventOf(Dma(0x0200, 5, 0x1000)));
        Assert.Equal(pb, Dma(0x0200, 300, 0x1000).Hpa);
        Assert.Equal(Errno.ENOENT, Assert.Throws<IommuException>(() => _driver.ClearPasid(0x0200, 5)).Code);
    }

    [Fact]
    public void Stage2AndDetach()
    {
        using var table = new SecondLevelPageTable(_memory, new SecondLevelFormat { Stage = PageTableStage.ArmStage2, Levels = 3 });
        ulong page = _memory.Frames.Allocate();
        table.Map(0x4000_0000, page, 0x1000, DmaProtection.Read);
        _driver.AttachStage2(0x0300, vmid: 7, table);
        Assert.Equal(page + 8, Dma(0x0300, null, 0x4000_0008).Hpa);
        _driver.Detach(0x0300);
        Assert.Equal(Smmu.AbortWithoutEvent, (byte)Smmu.EventOf(Dma(0x0300, null, 0x4000_0008)));
    }

    [Fact]
    public void EventsReachTheLogInLinuxFormat()
    {
        using SecondLevelPageTable table = Stage1();
        _driver.AttachStage1(0x0100, asid: 3, table);
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
        using var s2 = new SecondLevelPageTable(_memory, new SecondLevelFormat { Stage = PageTableStage.ArmStage2 });
        using SecondLevelPageTable s1 = Stage1();
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => _driver.AttachStage1(1, 1, s2)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => _driver.AttachStage2(1, 1, s1)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => _driver.SetPasid(1, 1u << 20, 1, s1)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => _driver.FlushRange(1, 0x1000, 0)).Code);
        Assert.Equal(Errno.ENOENT, Assert.Throws<IommuException>(() => _driver.Detach(0x7700)).Code);
    }
}
