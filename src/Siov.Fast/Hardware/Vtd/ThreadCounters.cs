namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// The counters one thread updates for one unit: plain increments of fields that no other
/// thread writes, padded to whole cache lines, so counting costs no contention.
/// </summary>
internal sealed class ThreadCounters
{
#pragma warning disable CS0169, IDE0051 // padding keeps neighbouring blocks off this cache line
    private readonly long _padBefore0, _padBefore1, _padBefore2, _padBefore3, _padBefore4, _padBefore5, _padBefore6, _padBefore7;
#pragma warning restore CS0169, IDE0051
    public long Translations;
    public long IotlbHits;
    public long IotlbMisses;
    public long PageWalks;
    public long PassThrough;
    public long ContextCacheMisses;
    public long PasidCacheMisses;
    public long Faults;
    /// <summary>The last batch mostly missed the IOTLB: the next one prefetches page walks too.</summary>
    public bool WalkAhead;
#pragma warning disable CS0169, IDE0051
    private readonly long _padAfter0, _padAfter1, _padAfter2, _padAfter3, _padAfter4, _padAfter5, _padAfter6, _padAfter7;
#pragma warning restore CS0169, IDE0051
}
