using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.Remapping;

/// <summary>A memory region and a remapping unit over it, scalable or legacy, for one test.</summary>
internal sealed class UnitFixture : IDisposable
{
    public static readonly ushort Rid0100 = 0x0100;   // 01:00.0, the workloads' requester
    public static readonly ushort Rid0010 = 0x0010;   // 00:02.0

    private UnitFixture(PhysicalMemory memory, RemappingUnit unit, SecondLevelFormat format)
    {
        Memory = memory;
        Unit = unit;
        Format = format;
    }

    public PhysicalMemory Memory { get; }

    public RemappingUnit Unit { get; }

    public SecondLevelFormat Format { get; }

    /// <summary>The default scalable unit (4-level tables, 2 MiB and 1 GiB leaves, HAW 46).</summary>
    public static UnitFixture Scalable(RemappingUnitOptions? options = null, ulong memoryBytes = 64UL << 20)
    {
        var memory = new PhysicalMemory(memoryBytes);
        var unit = new RemappingUnit(memory, UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability, options);
        return new UnitFixture(memory, unit, SecondLevelFormat.Default);
    }

    /// <summary>The Sandy Bridge legacy unit: 3-level tables, 4 KiB leaves only, HAW 36.</summary>
    public static UnitFixture Legacy(RemappingUnitOptions? options = null)
    {
        var memory = new PhysicalMemory(64UL << 20);
        options = (options ?? RemappingUnitOptions.Default) with { HostAddressWidth = 36 };
        var unit = new RemappingUnit(memory, UnitPresets.LegacyCapability, UnitPresets.LegacyExtendedCapability, options);
        return new UnitFixture(memory, unit, new SecondLevelFormat { Levels = 3, PageSizes = PageSizes.Size4K, HostAddressWidth = 36 });
    }

    public SecondLevelPageTable NewTable() => new(Memory, Format);

    public void Dispose()
    {
        Unit.Dispose();
        Memory.Dispose();
    }
}
