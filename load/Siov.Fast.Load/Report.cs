using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Siov.Fast.Load;

/// <summary>A run that cannot go on (e.g. http mode without the server); the message is for the user.</summary>
internal sealed class LoadException(string message) : Exception(message);

/// <summary>The end-of-run output: a human summary on stderr, one JSON line on stdout with --json.</summary>
internal static class Report
{
    public static void Print(LoadOptions options, LoadResult result)
    {
        double rate = result.Seconds > 0 ? result.Requests / result.Seconds : 0;
        string checksum = "0x" + result.Checksum.ToString("x16", CultureInfo.InvariantCulture);
        string hitRate = result.IotlbHitRate is { } h ? h.ToString("F4", CultureInfo.InvariantCulture) : "n/a";
        string churn = options.ChurnRate > 0 ? FormattableString.Invariant($", churn {result.ChurnOpsPerSecond:F0} ops/s") : "";
        if (result.AtcHitRate is { } atcHits)
            churn += FormattableString.Invariant($", ATC hit rate {atcHits:F4}");
        if (result.BatchLatency is { } l)
            churn += FormattableString.Invariant($"; batch call latency us p50 {l.P50:F1} p90 {l.P90:F1} p99 {l.P99:F1} p99.9 {l.P999:F1} max {l.Max:F1} ({l.Calls:N0} calls)");
        Console.Error.WriteLine(FormattableString.Invariant(
            $"siov-load: {options.Workload.Name} {options.Mode.ToString().ToLowerInvariant()} {options.Threads} thread(s): {result.Requests:N0} requests in {result.Seconds:F3} s = {rate / 1e6:F2} M translations/s, checksum {checksum}, faults {result.Faults}, IOTLB hit rate {hitRate}{churn}; cpu {Harness.CpuSeconds:F3} s = {result.Requests / Harness.CpuSeconds / 1e6:F2} M/cpu-s"));
        if (!options.Json)
            return;

        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("workload", options.Workload.Name);
            json.WriteString("mode", options.Mode.ToString().ToLowerInvariant());
            json.WriteString("iommu", options.SmmuV3 ? "smmuv3" : "vtd");
            json.WriteString("translation", options.Translation switch
            {
                Siov.Fast.Workloads.WorkloadTranslation.FirstLevel => "first-level",
                Siov.Fast.Workloads.WorkloadTranslation.Nested => "nested",
                _ => "second-level",
            });
            json.WriteNumber("threads", options.Threads);
            json.WriteNumber("requests", result.Requests);
            json.WriteNumber("seconds", Math.Round(result.Seconds, 6));
            json.WriteNumber("translations_per_sec", Math.Round(rate, 1));
            json.WriteString("checksum", checksum);
            json.WriteNumber("faults", result.Faults);
            if (result.IotlbHitRate is { } rateOfHits)
                json.WriteNumber("iotlb_hit_rate", Math.Round(rateOfHits, 6));
            else
                json.WriteNull("iotlb_hit_rate");
            json.WriteNumber("seed", options.Seed);
            json.WriteNumber("batch", options.Batch);
            json.WriteNumber("churn_ops_per_sec", Math.Round(result.ChurnOpsPerSecond, 1));
            json.WriteNumber("iotlb_entries", result.IotlbEntries);
            if (options.Ats)
            {
                json.WriteBoolean("ats", true);
                json.WriteNumber("atc_hit_rate", Math.Round(result.AtcHitRate ?? 0, 6));
            }
            if (result.BatchLatency is { } latency)
            {
                json.WriteStartObject("batch_latency_us");
                json.WriteNumber("calls", latency.Calls);
                json.WriteNumber("p50", latency.P50);
                json.WriteNumber("p90", latency.P90);
                json.WriteNumber("p99", latency.P99);
                json.WriteNumber("p99_9", latency.P999);
                json.WriteNumber("max", latency.Max);
                json.WriteEndObject();
            }
            json.WriteNumber("cpu_seconds", Math.Round(Harness.CpuSeconds, 6));
            json.WriteEndObject();
        }
        Console.Out.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
