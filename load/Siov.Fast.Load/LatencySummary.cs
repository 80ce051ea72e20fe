using HdrHistogram;

namespace Siov.Fast.Load;

/// <summary>Latency percentiles of the timed phase's HTTP batch calls, in microseconds (HdrHistogram, 3 significant digits).</summary>
/// <param name="Calls">Batch calls measured.</param>
internal sealed record LatencySummary(long Calls, double P50, double P90, double P99, double P999, double Max)
{
    /// <summary>The longest call a histogram records: 60 s in <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    public static readonly long HighestTicks = System.Diagnostics.Stopwatch.Frequency * 60;

    /// <summary>A histogram of call times in Stopwatch ticks, one per worker (recording is not thread-safe).</summary>
    public static LongHistogram NewHistogram() => new(HighestTicks, 3);

    /// <summary>The summary of <paramref name="histograms"/> added together.</summary>
    public static LatencySummary Of(IEnumerable<LongHistogram> histograms)
    {
        var all = NewHistogram();
        foreach (LongHistogram h in histograms)
            all.Add(h);
        double us(long ticks) => Math.Round(ticks * 1e6 / System.Diagnostics.Stopwatch.Frequency, 1);
        return new LatencySummary(all.TotalCount, us(all.GetValueAtPercentile(50)), us(all.GetValueAtPercentile(90)),
            us(all.GetValueAtPercentile(99)), us(all.GetValueAtPercentile(99.9)), us(all.GetMaxValue()));
    }
}
