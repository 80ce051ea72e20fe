namespace Siov.Fast.Remapping;

/// <summary>
/// The invalidation sanitizer of one unit (switched on with <see cref="RemappingUnit.EnableSanitizer"/>): every
/// translation is compared with a fresh walk of memory; a difference is a stale translation when the driver has, since
/// the changed table entry was written, issued an invalidation for the same domain (IOTLB, PASID cache) or device
/// (context cache), or a global one, and still left the stale entry cached: the invalidation that would have dropped
/// it is missing. Differences while the driver has not yet invalidated anything for that domain since the write are
/// taken as invalidations still in flight and not reported. Reports go to a bounded log (the newest
/// <see cref="Capacity"/>), a counter and an event.
/// </summary>
public sealed class InvalidationSanitizer
{
    private readonly Lock _lock = new();
    private readonly Queue<StaleTranslationReport> _reports = new();
    private readonly Dictionary<ushort, long> _domainSync = [];
    private readonly Dictionary<ushort, long> _deviceSync = [];
    private long _globalSync;
    private long _count;

    internal InvalidationSanitizer(int capacity)
    {
        if (capacity < 1)
            Throw.Iommu(Errno.EINVAL, $"sanitizer report capacity {capacity} must be at least 1");
        Capacity = capacity;
    }

    /// <summary>Reports kept (the newest).</summary>
    public int Capacity { get; }

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

    /// <summary>An invalidation ran after memory write number <paramref name="writeSequence"/>: for a domain, a device, or all (both null).</summary>
    internal void NoteInvalidation(ushort? domainId, ushort? sourceId, long writeSequence)
    {
        lock (_lock)
        {
            if (domainId is null && sourceId is null)
                _globalSync = writeSequence;
            if (domainId is ushort did)
                _domainSync[did] = writeSequence;
            if (sourceId is ushort sid)
                _deviceSync[sid] = writeSequence;
        }
    }

    /// <summary>True when an invalidation for the domain or device (or a global one) came after write <paramref name="writeSequence"/>.</summary>
    internal bool InvalidatedSince(long writeSequence, ushort domainId, ushort? sourceId)
    {
        lock (_lock)
        {
            long last = Math.Max(_globalSync, _domainSync.GetValueOrDefault(domainId));
            if (sourceId is ushort sid)
                last = Math.Max(last, _deviceSync.GetValueOrDefault(sid));
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
