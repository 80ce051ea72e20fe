using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.Memory;

namespace Siov.Fast.Tests.Iommu;

/// <summary>A core over fresh memory with one scalable-mode unit (and optionally more), for one test.</summary>
internal sealed class CoreFixture : IDisposable
{
    private readonly List<RemappingUnit> _units = [];

    public CoreFixture(IommuVendor vendor = IommuVendor.IntelVtd, IommuCoreOptions? options = null)
    {
        Memory = new PhysicalMemory(128UL << 20);
        Core = new IommuCore(Memory, options);
        Unit = AddScalableUnit(vendor, 0xFED9_0000);
    }

    public PhysicalMemory Memory { get; }

    public IommuCore Core { get; }

    public RemappingUnit Unit { get; }

    public RemappingUnit AddScalableUnit(IommuVendor vendor, ulong registerBase)
    {
        var unit = new RemappingUnit(Memory, UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability,
            new RemappingUnitOptions { RegisterBase = registerBase });
        unit.EnableSanitizer(); // every object-model test also checks that our driver leaves no stale translation
        _units.Add(unit);
        Core.AddUnit(unit, vendor);
        return unit;
    }

    /// <summary>The Sandy Bridge legacy unit (3 levels, 4 KiB leaves only, HAW 36).</summary>
    public RemappingUnit AddLegacyUnit(ulong registerBase)
    {
        var unit = new RemappingUnit(Memory, UnitPresets.LegacyCapability, UnitPresets.LegacyExtendedCapability,
            new RemappingUnitOptions { RegisterBase = registerBase, HostAddressWidth = 36 });
        unit.EnableSanitizer();
        _units.Add(unit);
        Core.AddUnit(unit);
        return unit;
    }

    public PciDevice Pci(string address, bool siov = true, IommuGroup? group = null, RemappingUnit? unit = null) =>
        Core.AddPciDevice(PciAddress.Parse(address), unit ?? Unit, siov ? PciDeviceCapabilities.ScalableIov : PciDeviceCapabilities.None, group);

    /// <summary>Stale translations the units' sanitizers found (zero for a correct driver).</summary>
    public IReadOnlyList<StaleTranslationReport> StaleTranslations => [.. _units.SelectMany(u => u.Sanitizer?.GetReports() ?? [])];

    public void Dispose()
    {
        Assert.Empty(StaleTranslations);
        Core.Dispose();
        foreach (RemappingUnit unit in _units)
            unit.Dispose();
        Memory.Dispose();
    }
}
