using System.Diagnostics.Metrics;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Platforms;

namespace Siov.Fast.Diagnostics;

/// <summary>
/// The engine's <see cref="Meter"/>, named <see cref="MeterName"/>: the counters a platform already keeps, published as
/// observable instruments that any <see cref="MeterListener"/> (OpenTelemetry, <c>dotnet-counters</c>) reads when it
/// collects. Per-unit instruments carry the tag <c>unit</c> (<c>dmar0</c>, <c>dmar1</c>... in the platform's unit order;
/// an SMMUv3 by its driver's name, <c>smmu3.0x</c> and its base). The <c>siov.smmu.*</c> instruments are the SMMUv3's
/// (whose model keeps no per-translation counters); the sanitizer's count covers both vendors.
/// </summary>
/// <remarks>
/// Nothing here is written by a translation: every instrument is observable, and its callback sums the per-thread
/// counter blocks (<see cref="RemappingUnit.Statistics"/>) and the control path's counts at collection time, so the
/// translation hot path costs exactly what it did without a meter. Values may be a batch behind running threads.
/// </remarks>
public sealed class SiovMeter : IDisposable
{
    /// <summary>The meter's name, for <c>AddMeter</c> and <c>dotnet-counters monitor --counters Siov.Fast</c>.</summary>
    public const string MeterName = "Siov.Fast";

    private static readonly (FaultReason Reason, string Name)[] Reasons =
        [.. Enum.GetValues<FaultReason>().Where(r => r != FaultReason.None).Select(r => (r, ReasonName(r)))];
    private readonly ModelledPlatform _platform;

    /// <summary>Publishes <paramref name="platform"/>'s counters on a new meter.</summary>
    /// <param name="platform">The platform whose units, core and memory are read at each collection.</param>
    /// <param name="meterFactory">Creates the meter (a host's <c>IMeterFactory</c>, which disposes it with the host);
    /// null for a meter of its own, disposed by <see cref="Dispose"/>.</param>
    public SiovMeter(ModelledPlatform platform, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(platform);
        _platform = platform;
        string? version = typeof(SiovMeter).Assembly.GetName().Version?.ToString();
        Meter = meterFactory?.Create(new MeterOptions(MeterName) { Version = version }) ?? new Meter(MeterName, version);

        Meter.CreateObservableCounter("siov.iommu.translations", () => PerUnit(u => u.Statistics.Translations),
            "{request}", "DMA requests translated (IOTLB hits, misses and faults)");
        Meter.CreateObservableCounter("siov.iommu.iotlb.hits", () => PerUnit(u => u.Statistics.IotlbHits),
            "{request}", "Requests answered from the IOTLB");
        Meter.CreateObservableCounter("siov.iommu.iotlb.misses", () => PerUnit(u => u.Statistics.IotlbMisses),
            "{request}", "Requests that missed the IOTLB");
        Meter.CreateObservableCounter("siov.iommu.page_walks", () => PerUnit(u => u.Statistics.PageWalks),
            "{walk}", "Page-table walks");
        Meter.CreateObservableCounter("siov.iommu.faults", () => PerUnit(u => u.Statistics.Faults),
            "{request}", "Requests that faulted, reported or suppressed");
        Meter.CreateObservableCounter("siov.iommu.faults.reported", ReportedFaults,
            "{fault}", "Faults that reached the unit's fault log (recorded or dropped by overflow), by reason");
        Meter.CreateObservableCounter("siov.iommu.invalidations", Invalidations,
            "{invalidation}", "Invalidation requests, by cache (iotlb, context, pasid, device-tlb)");
        Meter.CreateObservableCounter("siov.iommu.page_requests", () => PerUnit(u => u.PageRequests),
            "{request}", "Page requests (PRI) that reached the unit's page request queue");
        Meter.CreateObservableCounter("siov.iommu.sanitizer.stale_translations", StaleTranslations,
            "{translation}", "Stale translations the invalidation sanitizer found (units with the sanitizer on)");
        Meter.CreateObservableCounter("siov.smmu.commands", () => PerSmmu(s => s.CommandsExecuted),
            "{command}", "Commands the SMMUv3 consumed from its command queue (CMD_CFGI_*, CMD_TLBI_*, CMD_ATC_INV, CMD_SYNC...)");
        Meter.CreateObservableCounter("siov.smmu.events", () => PerSmmu(s => s.EventsRecorded),
            "{event}", "Event records the SMMUv3 wrote to its event queue");
        Meter.CreateObservableCounter("siov.smmu.events.lost", () => PerSmmu(s => s.EventsLost),
            "{event}", "Events the SMMUv3 lost to a full or disabled event queue");
        Meter.CreateObservableCounter("siov.smmu.atc_invalidations", () => PerSmmu(s => s.AtcInvalidations),
            "{request}", "ATS invalidation requests the SMMUv3 sent to functions' ATCs (CMD_ATC_INV)");
        Meter.CreateObservableCounter("siov.iommu.map_calls", () => _platform.Core.MapCalls,
            "{call}", "Map calls (single and batch) that completed, on every domain");
        Meter.CreateObservableCounter("siov.iommu.unmap_calls", () => _platform.Core.UnmapCalls,
            "{call}", "Unmap calls that completed, on every domain");
        Meter.CreateObservableUpDownCounter("siov.iommu.table_frames.used", () => (long)_platform.Memory.Frames.AllocatedFrames,
            "{frame}", "4 KiB frames of table memory in use (page tables, root, context and PASID tables)");
        Meter.CreateObservableUpDownCounter("siov.iommu.table_frames.limit", () => (long)_platform.Memory.Frames.TotalFrames,
            "{frame}", "4 KiB frames of table memory in all");
    }

    /// <summary>The meter the instruments live on.</summary>
    public Meter Meter { get; }

    /// <summary>The name of a unit in the <c>unit</c> tag: <c>dmar</c> and its index in the platform's unit order.</summary>
    /// <param name="index">The unit's index in <see cref="ModelledPlatform.Units"/>.</param>
    /// <returns>The name.</returns>
    public static string UnitName(int index) => "dmar" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Disposes the meter (a factory's meter is left to its factory); its instruments stop publishing.</summary>
    public void Dispose() => Meter.Dispose();

    private List<Measurement<long>> PerUnit(Func<RemappingUnit, long> read)
    {
        IReadOnlyList<RemappingUnit> units = _platform.Units;
        var measurements = new List<Measurement<long>>(units.Count);
        for (int i = 0; i < units.Count; i++)
            measurements.Add(new Measurement<long>(read(units[i]), new KeyValuePair<string, object?>("unit", UnitName(i))));
        return measurements;
    }

    private List<Measurement<long>> PerSmmu(Func<Smmu, long> read) =>
        [.. _platform.Smmus.Select(s => new Measurement<long>(read(s), new KeyValuePair<string, object?>("unit", SmmuName(s))))];

    private string SmmuName(Smmu smmu) => _platform.Core.GetDriver(smmu).UnitName;

    private List<Measurement<long>> ReportedFaults()
    {
        var measurements = new List<Measurement<long>>();
        IReadOnlyList<RemappingUnit> units = _platform.Units;
        for (int i = 0; i < units.Count; i++)
        {
            foreach ((FaultReason reason, string name) in Reasons)
            {
                // Only reasons seen so far: a counter that appears at its first fault keeps appearing (it never falls back to 0).
                long count = units[i].Faults.ReportedWithReason(reason);
                if (count != 0)
                    measurements.Add(new Measurement<long>(count, new("unit", UnitName(i)), new("reason", name)));
            }
        }
        return measurements;
    }

    private List<Measurement<long>> Invalidations()
    {
        var measurements = new List<Measurement<long>>();
        IReadOnlyList<RemappingUnit> units = _platform.Units;
        for (int i = 0; i < units.Count; i++)
        {
            RemappingStatistics s = units[i].Statistics;
            KeyValuePair<string, object?> unit = new("unit", UnitName(i));
            measurements.Add(new(s.IotlbInvalidations, unit, new("cache", "iotlb")));
            measurements.Add(new(s.ContextCacheInvalidations, unit, new("cache", "context")));
            measurements.Add(new(s.PasidCacheInvalidations, unit, new("cache", "pasid")));
            measurements.Add(new(units[i].DeviceTlbInvalidations, unit, new("cache", "device-tlb")));
        }
        return measurements;
    }

    private List<Measurement<long>> StaleTranslations()
    {
        var measurements = new List<Measurement<long>>();
        IReadOnlyList<RemappingUnit> units = _platform.Units;
        for (int i = 0; i < units.Count; i++)
        {
            if (units[i].Sanitizer is { } sanitizer)
                measurements.Add(new(sanitizer.StaleTranslations, new KeyValuePair<string, object?>("unit", UnitName(i))));
        }
        foreach (Smmu smmu in _platform.Smmus)
        {
            if (smmu.Sanitizer is { } sanitizer)
                measurements.Add(new(sanitizer.StaleTranslations, new KeyValuePair<string, object?>("unit", SmmuName(smmu))));
        }
        return measurements;
    }

    // "pte-write-access-not-set": the enum name in kebab case, as Prometheus label values are usually written.
    private static string ReasonName(FaultReason reason) =>
        string.Concat(reason.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
