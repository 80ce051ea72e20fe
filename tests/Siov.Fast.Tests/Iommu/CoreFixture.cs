using Siov.Fast.Hardware;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.Memory;

namespace Siov.Fast.Tests.Iommu;

/// <summary>A core over fresh memory with one IOMMU (and optionally more), for one test: a scalable-mode VT-d unit driven
/// by intel-iommu, or an SMMUv3 driven by arm-smmu-v3.</summary>
internal sealed class CoreFixture : IDisposable
{
    private readonly List<RemappingUnit> _units = [];
    private readonly List<Smmu> _smmus = [];

    public CoreFixture(IommuVendor vendor = IommuVendor.IntelVtd, IommuCoreOptions? options = null)
    {
        Memory = new PhysicalMemory(128UL << 20);
        Core = new IommuCore(Memory, options);
        Vendor = vendor;
        Iommu = vendor == IommuVendor.ArmSmmuV3 ? AddSmmu(0x0905_0000) : AddScalableUnit(0xFED9_0000);
    }

    public PhysicalMemory Memory { get; }

    public IommuCore Core { get; }

    public IommuVendor Vendor { get; }

    /// <summary>The first IOMMU, whatever its vendor.</summary>
    public IIommuHardware Iommu { get; }

    /// <summary>The first IOMMU as a VT-d unit (for VT-d-only tests).</summary>
    public RemappingUnit Unit => Iommu as RemappingUnit ?? throw new InvalidOperationException("a VT-d-only helper used on " + Vendor);

    /// <summary>Both vendors, for object-model tests that hold on each: <c>[Theory, MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]</c>.</summary>
    public static TheoryData<IommuVendor> Vendors => new() { IommuVendor.IntelVtd, IommuVendor.ArmSmmuV3 };

    /// <summary>The fault code a translation gives on this fixture's vendor: the VT-d fault reason, or the SMMUv3 EventID
    /// (<see cref="Smmu.AbortWithoutEvent"/> for a stream whose STE aborts: blocked, detached).</summary>
    public FaultReason Fault(FaultReason vtd, SmmuEventType smmu) => Vendor == IommuVendor.ArmSmmuV3 ? (FaultReason)(byte)smmu : vtd;

    /// <summary>The SMMU's abort without event, as an <see cref="SmmuEventType"/> for <see cref="Fault"/>.</summary>
    public const SmmuEventType Abort = (SmmuEventType)Smmu.AbortWithoutEvent;

    /// <summary>Another IOMMU of the fixture's vendor.</summary>
    public IIommuHardware AddIommu(ulong registerBase) =>
        Vendor == IommuVendor.ArmSmmuV3 ? AddSmmu(registerBase) : AddScalableUnit(registerBase);

    public Smmu AddSmmu(ulong registerBase)
    {
        var smmu = new Smmu(Memory, new SmmuOptions { RegisterBase = registerBase });
        smmu.EnableSanitizer(); // as for VT-d: our arm-smmu-v3 must leave no stale translation
        _smmus.Add(smmu);
        Core.AddUnit(smmu);
        return smmu;
    }

    public RemappingUnit AddScalableUnit(ulong registerBase)
    {
        var unit = new RemappingUnit(Memory, UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability,
            new RemappingUnitOptions { RegisterBase = registerBase });
        unit.EnableSanitizer(); // every object-model test also checks that our driver leaves no stale translation
        _units.Add(unit);
        Core.AddUnit(unit);
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

    public PciDevice Pci(string address, bool siov = true, IommuGroup? group = null, IIommuHardware? unit = null) =>
        Core.AddPciDevice(PciAddress.Parse(address), unit ?? Iommu, siov ? PciDeviceCapabilities.ScalableIov : PciDeviceCapabilities.None, group);

    /// <summary>Stale translations the units' sanitizers found (zero for a correct driver).</summary>
    public IReadOnlyList<StaleTranslationReport> StaleTranslations =>
        [.. _units.SelectMany(u => u.Sanitizer?.GetReports() ?? []), .. _smmus.SelectMany(s => s.Sanitizer?.GetReports() ?? [])];

    public void Dispose()
    {
        Assert.Empty(StaleTranslations);
        Core.Dispose();
        foreach (RemappingUnit unit in _units)
            unit.Dispose();
        foreach (Smmu smmu in _smmus)
            smmu.Dispose();
        Memory.Dispose();
    }
}
