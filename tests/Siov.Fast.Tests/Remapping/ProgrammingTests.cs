using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.Remapping;

/// <summary>Bad input to the programming and invalidation calls: the errno, and nothing changed.</summary>
public class ProgrammingTests
{
    /// <summary>Runs a call that must fail with <paramref name="code"/> and asserts memory and translations are untouched.</summary>
    private static void AssertRefused(UnitFixture f, Errno code, Action call)
    {
        var before = new byte[f.Memory.Size];
        f.Memory.CopyTo(f.Memory.BaseHpa, before);
        int frames = f.Memory.Frames.AllocatedFrames;
        var probes = new[] { (ushort)0x0100, (ushort)0x0108, (ushort)0x0010 }
            .Select(rid => f.Unit.Translate(rid, null, 0x1_0000_0000, DmaAccess.Read)).ToArray();

        var e = Assert.Throws<IommuException>(call);
        Assert.Equal(code, e.Code);

        var after = new byte[f.Memory.Size];
        f.Memory.CopyTo(f.Memory.BaseHpa, after);
        Assert.True(before.AsSpan().SequenceEqual(after), $"{code}: simulated memory changed");
        Assert.Equal(frames, f.Memory.Frames.AllocatedFrames);
        Assert.Equal(probes, new[] { (ushort)0x0100, (ushort)0x0108, (ushort)0x0010 }
            .Select(rid => f.Unit.Translate(rid, null, 0x1_0000_0000, DmaAccess.Read)).ToArray());
    }

    [Fact]
    public void Scalable_BadCalls_AreRefusedWithTheirErrno()
    {
        using var f = UnitFixture.Scalable(new RemappingUnitOptions { FaultLogCapacity = 1 });
        using SecondLevelPageTable table = f.NewTable();
        table.Map(0x1_0000_0000, 0x100_0000_0000, 0x1000, DmaProtection.Read);
        f.Unit.AttachDevice(0x0100, 1, table);
        f.Unit.SetupPasidSecondLevel(0x0100, 5, 2, table);
        using var otherMemory = new PhysicalMemory(1 << 20);
        using var foreign = new SecondLevelPageTable(otherMemory);
        using var fiveLevel2M = new SecondLevelPageTable(f.Memory, new SecondLevelFormat { Levels = 5, HostAddressWidth = 48 });

        AssertRefused(f, Errno.EBUSY, () => f.Unit.AttachDevice(0x0100, 1, table));
        AssertRefused(f, Errno.EBUSY, () => f.Unit.SetupPasidSecondLevel(0x0100, 5, 3, table));
        AssertRefused(f, Errno.EBUSY, () => f.Unit.SetupScalableContext(0x0100));
        AssertRefused(f, Errno.ERANGE, () => f.Unit.SetupPasidSecondLevel(0x0100, 1u << 20, 2, table));
        AssertRefused(f, Errno.EINVAL, () => f.Unit.SetupPasidSecondLevel(0x0100, 6, 2, foreign));
        AssertRefused(f, Errno.EINVAL, () => f.Unit.AttachDevice(0x0108, 2, foreign));           // no context left behind
        AssertRefused(f, Errno.EINVAL, () => f.Unit.SetupPasidSecondLevel(0x0108, 6, 2, fiveLevel2M)); // HAW 48 > 46
        AssertRefused(f, Errno.ENOENT, () => f.Unit.TearDownPasidEntry(0x0100, 6));
        AssertRefused(f, Errno.ENOENT, () => f.Unit.DetachDevice(0x0108));
        AssertRefused(f, Errno.ENOENT, () => f.Unit.ClearContextEntry(0x0108));
        AssertRefused(f, Errno.ENODEV, () => f.Unit.SetupContextSecondLevel(0x0108, 1, table));
        AssertRefused(f, Errno.EINVAL, () => f.Unit.InvalidateIotlbPages(1, null, 0x1000, 1));   // unaligned to 8 KiB
        AssertRefused(f, Errno.EINVAL, () => f.Unit.InvalidateIotlbPages(1, null, 0, 46));      // AM > MAMV 45
        AssertRefused(f, Errno.EINVAL, () => f.Unit.InvalidateIotlbRange(1, null, 0x1000, 0));
    }

    [Fact]
    public void Legacy_BadCalls_AreRefusedWithTheirErrno()
    {
        using var f = UnitFixture.Legacy(new RemappingUnitOptions { FaultLogCapacity = 1 });
        using SecondLevelPageTable table = f.NewTable();
        f.Unit.AttachDevice(0x0010, 1, table);
        using var fourLevel = new SecondLevelPageTable(f.Memory, new SecondLevelFormat { Levels = 4, PageSizes = PageSizes.Size4K, HostAddressWidth = 36 });
        using var superpages = new SecondLevelPageTable(f.Memory, new SecondLevelFormat { Levels = 3, HostAddressWidth = 36 });

        AssertRefused(f, Errno.EBUSY, () => f.Unit.AttachDevice(0x0010, 2, table));
        AssertRefused(f, Errno.ERANGE, () => f.Unit.AttachDevice(0x0100, 256, table));           // ND = 2: 256 domain ids
        AssertRefused(f, Errno.EINVAL, () => f.Unit.AttachDevice(0x0100, 2, fourLevel));          // SAGAW: 3-level only
        AssertRefused(f, Errno.EINVAL, () => f.Unit.AttachDevice(0x0100, 2, superpages));         // SLLPS: no superpages
        AssertRefused(f, Errno.ENODEV, () => f.Unit.SetupPasidSecondLevel(0x0100, 1, 2, table));
        AssertRefused(f, Errno.ENODEV, () => f.Unit.SetupScalableContext(0x0100));
        AssertRefused(f, Errno.ENOENT, () => f.Unit.DetachDevice(0x0100));
    }

    [Fact]
    public void AttachDetach_ChangeTranslationAtOnce_AndFreeTheUnitsTables()
    {
        using var f = UnitFixture.Scalable();
        using SecondLevelPageTable table = f.NewTable();
        table.Map(0x1_0000_0000, 0x100_0000_0000, 0x1000, DmaProtection.ReadWrite);
        f.Unit.Driver(); // the driver's invalidation queue and status page are not the unit's tables
        int framesBefore = f.Memory.Frames.AllocatedFrames;

        f.Unit.AttachDevice(0x0100, 1, table);
        f.Unit.SetupPasidSecondLevel(0x0100, 700, 1, table);
        Assert.True(f.Unit.Translate(0x0100, 700, 0x1_0000_0000, DmaAccess.Read).IsSuccess);
        f.Unit.TearDownPasidEntry(0x0100, 700);
        Assert.Equal(FaultReason.SmPasidEntryNotPresent, f.Unit.Translate(0x0100, 700, 0x1_0000_0000, DmaAccess.Read).Fault);
        Assert.True(f.Unit.Translate(0x0100, null, 0x1_0000_0000, DmaAccess.Read).IsSuccess);
        f.Unit.DetachDevice(0x0100);
        Assert.Equal(FaultReason.SmPasidEntryNotPresent, f.Unit.Translate(0x0100, null, 0x1_0000_0000, DmaAccess.Read).Fault);
        f.Unit.ClearContextEntry(0x0100);
        Assert.Equal(FaultReason.SmContextEntryNotPresent, f.Unit.Translate(0x0100, null, 0x1_0000_0000, DmaAccess.Read).Fault);

        // PASID directory (32 frames for 20-bit PASIDs) and two PASID tables are freed; the context table stays.
        Assert.Equal(framesBefore + 1, f.Memory.Frames.AllocatedFrames);
    }

    [Fact]
    public void Constructor_RejectsRegistersItCannotModel()
    {
        using var memory = new PhysicalMemory(1 << 20);
        var noWidths = UnitPresets.ScalableCapability with { SupportedAdjustedGuestAddressWidths = 0b10001 };
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() =>
            new RemappingUnit(memory, noWidths, UnitPresets.ScalableExtendedCapability)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() =>
            new RemappingUnit(memory, UnitPresets.ScalableCapability with { NumberOfDomainsField = 7 }, UnitPresets.ScalableExtendedCapability)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() =>
            new RemappingUnit(memory, UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability,
                new RemappingUnitOptions { HostAddressWidth = 53 })).Code);
        Assert.Equal(0, memory.Frames.AllocatedFrames);
    }
}
