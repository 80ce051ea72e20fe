using System.Diagnostics.Metrics;
using Siov.Fast.Diagnostics;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.Platforms;
using Siov.Fast.Vfio;

namespace Siov.Fast.Tests.Diagnostics;

/// <summary>The <c>Siov.Fast</c> meter read through a <see cref="MeterListener"/>, as OpenTelemetry and dotnet-counters read it.</summary>
public class SiovMeterTests
{
    [Fact]
    public void Instruments_MoveWhenTranslationsRun()
    {
        using var platform = ModelledPlatform.CreateDefault();
        using var meter = new SiovMeter(platform);
        using var reader = new Reader(meter);
        Dictionary<string, long> before = reader.Collect();

        (PciDevice parent, uint pasid) = AuxDeviceWithMapping(platform);
        for (int i = 0; i < 10; i++)
            Assert.Equal(FaultReason.None, parent.Translate(pasid, 0x1000UL * (ulong)i, DmaAccess.Read).Fault);
        Assert.Equal(FaultReason.SmPasidEntryNotPresent, parent.Translate(pasid + 1, 0x1234, DmaAccess.Read).Fault);
        ((RemappingUnit)parent.Unit).InvalidateIotlb();
        Dictionary<string, long> after = reader.Collect();

        string unit = "unit=" + SiovMeter.UnitName(platform.Units.ToList().IndexOf((RemappingUnit)parent.Unit));
        Assert.Equal(11, after[$"siov.iommu.translations {unit}"] - before[$"siov.iommu.translations {unit}"]);
        Assert.True(after[$"siov.iommu.iotlb.hits {unit}"] > before[$"siov.iommu.iotlb.hits {unit}"]);
        Assert.True(after[$"siov.iommu.iotlb.misses {unit}"] > before[$"siov.iommu.iotlb.misses {unit}"]);
        Assert.True(after[$"siov.iommu.page_walks {unit}"] > before[$"siov.iommu.page_walks {unit}"]);
        Assert.Equal(1, after[$"siov.iommu.faults {unit}"] - before[$"siov.iommu.faults {unit}"]);
        Assert.Equal(1, after[$"siov.iommu.faults.reported {unit},reason=sm-pasid-entry-not-present"]);
        Assert.Equal(1, after[$"siov.iommu.invalidations {unit},cache=iotlb"] - before[$"siov.iommu.invalidations {unit},cache=iotlb"]);
        Assert.Equal(4, after.Keys.Count(k => k.StartsWith($"siov.iommu.invalidations {unit},cache=", StringComparison.Ordinal)));
        Assert.Equal(1, after["siov.iommu.map_calls"] - before["siov.iommu.map_calls"]);
        Assert.True(after["siov.iommu.table_frames.used"] > before["siov.iommu.table_frames.used"]);
        Assert.Equal(before["siov.iommu.table_frames.limit"], after["siov.iommu.table_frames.limit"]);
    }

    /// <summary>On the Arm platform the SMMUv3's own counts: commands the driver queued, events a faulting translation
    /// wrote, and the sanitizer's findings under the SMMU's name.</summary>
    [Fact]
    public void SmmuInstruments_MoveWithCommandsAndEvents()
    {
        using var platform = ModelledPlatform.CreateArmDemo();
        platform.Smmus[0].EnableSanitizer();
        using var meter = new SiovMeter(platform);
        using var reader = new Reader(meter);
        const string Unit = "unit=smmu3.0x0000000009050000";
        Dictionary<string, long> before = reader.Collect();
        Assert.True(before[$"siov.smmu.commands {Unit}"] > 0);            // bring-up and the default domains' STEs

        PciDevice nic = platform.Core.FindPciDevice(PciAddress.Parse("02:00.0"))!;
        using var atc = new Siov.Fast.Ats.DeviceTlb(platform.Smmus[0], nic.SourceId, capacity: 64); // the NIC's ATC, connected
        IommuDomain domain = platform.Core.GetDomainForDevice(nic)!;
        domain.Map(0x1000, 0x8000_0000, 0x1000, DmaProtection.Read);
        Assert.True(nic.Translate(null, 0x1000, DmaAccess.Read).IsSuccess);
        Assert.False(nic.Translate(null, 0x5000, DmaAccess.Read).IsSuccess); // F_TRANSLATION, one event
        domain.Unmap(0x1000, 0x1000);                                        // CMD_TLBI_NH_VA, CMD_ATC_INV, CMD_SYNC
        Dictionary<string, long> after = reader.Collect();

        Assert.Equal(1, after[$"siov.smmu.events {Unit}"] - before[$"siov.smmu.events {Unit}"]);
        Assert.Equal(0, after[$"siov.smmu.events.lost {Unit}"]);
        Assert.True(after[$"siov.smmu.commands {Unit}"] > before[$"siov.smmu.commands {Unit}"]);
        Assert.True(after[$"siov.smmu.atc_invalidations {Unit}"] > before[$"siov.smmu.atc_invalidations {Unit}"]); // to the NIC's ATC
        Assert.Equal(0, after[$"siov.iommu.sanitizer.stale_translations {Unit}"]);
    }

    [Fact]
    public void Translation_RecordsNothingUntilCollected_AndMovesOnlyItsOwnCounters()
    {
        using var platform = ModelledPlatform.CreateDefault();
        using var meter = new SiovMeter(platform);
        using var reader = new Reader(meter);
        (PciDevice parent, uint pasid) = AuxDeviceWithMapping(platform);
        Assert.Equal(FaultReason.None, parent.Translate(pasid, 0x1234, DmaAccess.Read).Fault); // warm the IOTLB
        Dictionary<string, long> before = reader.Collect();
        int measurementsBefore = reader.Measurements;

        for (int i = 0; i < 1000; i++)
            parent.Translate(pasid, 0x1234, DmaAccess.Read);

        // Observable instruments only: a translation pushes no measurement to a listener.
        Assert.Equal(measurementsBefore, reader.Measurements);
        Dictionary<string, long> after = reader.Collect();
        string unit = "unit=" + SiovMeter.UnitName(platform.Units.ToList().IndexOf((RemappingUnit)parent.Unit));
        var moved = after.Where(kv => !before.TryGetValue(kv.Key, out long b) || b != kv.Value)
            .ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key));
        Assert.Equal(new Dictionary<string, long> { [$"siov.iommu.translations {unit}"] = 1000, [$"siov.iommu.iotlb.hits {unit}"] = 1000 }, moved);
    }

    [Fact]
    public void UnmapAndSanitizer_AreCounted()
    {
        using var platform = ModelledPlatform.CreateDefault();
        using var meter = new SiovMeter(platform);
        using var reader = new Reader(meter);
        platform.Units[0].EnableSanitizer();
        IommuDomain domain = platform.Core.DomainAlloc(IommuDomainType.Unmanaged);
        domain.Map(0x10000, 0x40_0000_0000, 0x1000, DmaProtection.ReadWrite);
        domain.Unmap(0x10000, 0x1000);
        Dictionary<string, long> values = reader.Collect();
        Assert.Equal(1, values["siov.iommu.map_calls"]);
        Assert.Equal(1, values["siov.iommu.unmap_calls"]);
        Assert.Equal(0, values["siov.iommu.sanitizer.stale_translations unit=dmar0"]);
        Assert.False(values.ContainsKey("siov.iommu.sanitizer.stale_translations unit=dmar1"));
    }

    private static long Sum(Dictionary<string, long> values, string prefix) =>
        values.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(kv => kv.Value);

    private static (PciDevice Parent, uint Pasid) AuxDeviceWithMapping(ModelledPlatform platform)
    {
        IommuCore core = platform.Core;
        PciDevice parent = core.FindPciDevice(PciAddress.Parse("01:00.0"))!;
        core.DevEnableFeature(parent, IommuDevFeature.Aux);
        MediatedDevice wq = core.MdevCreate(parent, "idxd-wq", Guid.NewGuid());
        var vm = new VfioContainer(core);
        vm.AttachGroup(wq.Group!);
        vm.MapDma(iova: 0x0, hpa: 0x40_0000_0000, size: 0x100_0000, DmaProtection.ReadWrite);
        return (parent, core.AuxGetPasid(core.GetDomainForDevice(wq)!, parent));
    }

    /// <summary>Listens to one <see cref="SiovMeter"/>'s instruments; values keyed "name tag=value,tag=value".</summary>
    private sealed class Reader : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Dictionary<string, long> _values = [];

        public Reader(SiovMeter meter)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter == meter.Meter)
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                Measurements++;
                string key = instrument.Name + (tags.Length == 0 ? "" : " " + string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}")));
                _values[key] = value;
            });
            _listener.Start();
        }

        public int Measurements { get; private set; }

        public Dictionary<string, long> Collect()
        {
            _listener.RecordObservableInstruments();
            return new Dictionary<string, long>(_values);
        }

        public void Dispose() => _listener.Dispose();
    }
}
