namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// The invalidation sanitizer of one unit (switched on with <see cref="RemappingUnit.EnableSanitizer"/>, or
/// <see cref="SmmuV3.Smmu.EnableSanitizer"/> for an SMMUv3, whose TLB, configuration cache and connected ATCs it checks the
/// same way and names the missing commands: CMD_TLBI_*, CMD_CFGI_STE, CMD_CFGI_CD, CMD_ATC_INV, each with CMD_SYNC): every
/// translation is compared with a fresh walk of memory; a difference is a stale translation when the driver has, since
/// the changed table entry was written, issued an invalidation of that cache (for the IOTLB: of the same domain, or a
/// global one) and still left the stale entry cached: the invalidation that would have dropped
/// it is missing. Differences while the driver has not yet invalidated anything for that domain since the write are
/// taken as invalidations still in flight and not reported. A function's ATC (<see cref="Ats.DeviceTlb"/>) is checked the
/// same way on its hits: a stale entry after the domain's IOTLB invalidation, with no device-TLB invalidation sent to the
/// function since the change, names the missing device-TLB invalidation. Reports go to a bounded log (the newest
/// <see cref="Capacity"/>), a counter and an event.
/// </summary>
public sealed class InvalidationSanitizer
{
    private readonly Lock _lock = new();
    private readonly Queue<StaleTranslationReport> _reports = new();
    // The memory write number at the latest invalidation of each cache, per domain (or device) and globally. A domain is
    // a VT-d DID, or an SMMU's TLB space (a key the SMMU makes of VMID and ASID).
    private readonly Dictionary<(StaleCache Cache, ulong Domain), long> _domainSync = [];
    private readonly long[] _globalSync = new long[CacheKinds];
    private readonly long[] _anySync = new long[CacheKinds];
    private const int CacheKinds = (int)StaleCache.ContextDescriptorCache + 1;
    // Device-TLB invalidations by the function they went to.
    private readonly Dictionary<ushort, long> _deviceSync = [];
    private long _count;
    private long _comparisons;

    internal InvalidationSanitizer(int capacity)
    {
        if (capacity < 1)
            Throw.Iommu(Errno.EINVAL, $"sanitizer report capacity {capacity} must be at least 1");
        Capacity = capacity;
    }

    /// <summary>Reports kept (the newest).</summary>
    public int Capacity { get; }

    /// <summary>Translations compared with memory while nothing else moved (the others were inconclusive and left out).</summary>
    public long Comparisons => Volatile.Read(ref _comparisons);

    internal void Compared() => Interlocked.Increment(ref _comparisons);

    /// <summary>Stale translations found since the sanitizer was switched on.</summary>
    public long StaleTranslations => Volatile.Read(ref _count);

    /// <summary>Raised for each stale translation, on the translating thread.</summary>
    public event EventHandler<StaleTranslationReport>? StaleTranslation;

    /// <summary>The kept reports, oldest first.</summary>
    /// <returns>A snapshot.</returns>
    public IReadOnlyList<StaleTranslationReport> GetReports()
    {
        lock (_lock)
            return [.. _reports];
    }

    /// <summary>An invalidation of <paramref name="cache"/> ran after memory write number <paramref name="writeSequence"/>:
    /// for a domain (IOTLB, PASID cache, context cache by DID), a device (context cache by requester id), or all.</summary>
    internal void NoteInvalidation(StaleCache cache, ulong? domainId, ushort? sourceId, long writeSequence)
    {
        lock (_lock)
        {
            _anySync[(int)cache] = writeSequence;
            if (domainId is null && sourceId is null)
                _globalSync[(int)cache] = writeSequence;
            if (domainId is ulong did)
                _domainSync[(cache, did)] = writeSequence;
            if (cache == StaleCache.DeviceTlb && sourceId is ushort sid)
                _deviceSync[sid] = writeSequence;
        }
    }

    /// <summary>True when a device-TLB invalidation reached function <paramref name="sourceId"/> after write
    /// <paramref name="writeSequence"/>.</summary>
    internal bool DeviceTlbInvalidatedSince(ushort sourceId, long writeSequence)
    {
        lock (_lock)
            return _deviceSync.GetValueOrDefault(sourceId) >= writeSequence;
    }

    /// <summary>True when an invalidation that closes the change's window came after write <paramref name="writeSequence"/>:
    /// the driver had done its invalidations since the change, and still the cache served the old entry.</summary>
    internal bool InvalidatedSince(StaleCache cache, long writeSequence, ulong domainId)
    {
        lock (_lock)
        {
            // Context and PASID entries are written and invalidated by one driver operation under its lock, so any
            // later invalidation of that cache ends the change's window. Page-table entries are written outside it
            // (map and unmap run per domain), so for the IOTLB only an invalidation of the same domain does.
            long last = cache == StaleCache.Iotlb
                ? Math.Max(_globalSync[(int)cache], _domainSync.GetValueOrDefault((cache, domainId)))
                : _anySync[(int)cache];
            return last >= writeSequence;
        }
    }

    internal void Report(StaleTranslationReport report)
    {
        lock (_lock)
        {
            _count++;
            _reports.Enqueue(report);
            if (_reports.Count > Capacity)
                _reports.Dequeue();
        }
        StaleTranslation?.Invoke(this, report);
    }
}
