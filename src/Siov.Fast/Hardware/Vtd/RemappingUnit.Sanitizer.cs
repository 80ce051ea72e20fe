using Siov.Fast.Caching;
using Siov.Fast.Concurrency;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Hardware.Vtd;

/// <summary>The invalidation sanitizer's side of the unit: a fresh walk of memory per translation, and the comparison.</summary>
public sealed partial class RemappingUnit : Ats.IAtcHitChecker
{
    bool Ats.IAtcHitChecker.ChecksAtcHits => _sanitizer is not null;

    void Ats.IAtcHitChecker.CheckAtcHit(in DmaRequest request, TranslationResult cached) => CheckDeviceTlbHit(request, cached);

    private InvalidationSanitizer? _sanitizer; // set once, under the register lock; a translation may see it a little late
    private int _fillsInFlight;                // cache fills running, counted only while the sanitizer is on

    /// <summary>The invalidation sanitizer, or null while it is off (the default).</summary>
    public InvalidationSanitizer? Sanitizer => _sanitizer;

    /// <summary>
    /// Switches the invalidation sanitizer on (and the memory's write log, <see cref="PhysicalMemory.EnableWriteLog"/>):
    /// from now on every translation is also walked in memory, and a cached result that disagrees with memory after an
    /// invalidation for its domain or device is reported (<see cref="InvalidationSanitizer"/>). Translations become as
    /// slow as walks; it is a checking mode, not for measurements.
    /// </summary>
    /// <param name="capacity">Reports kept, at least 1.</param>
    /// <returns>The sanitizer (the same one on later calls).</returns>
    /// <exception cref="IommuException">EINVAL for a capacity below 1.</exception>
    public InvalidationSanitizer EnableSanitizer(int capacity = 256)
    {
        lock (_registerLock)
        {
            _memory.EnableWriteLog();
            return _sanitizer ??= new InvalidationSanitizer(capacity);
        }
    }

    private TranslationResult TranslateChecked(in DmaRequest request, ThreadCounters counters)
    {
        MemoryWriteLog? log = _memory.WriteLog;
        InvalidationSanitizer? sanitizer = _sanitizer;
        if (sanitizer is null || log is null || !_translationEnabled || request.IsTranslated)
            return TranslateCached(request, counters);
        // The comparison counts only when nothing moved while it ran: no invalidation (they run whole under the program
        // lock, read here before and after), no memory write begun or landing, no cache fill in progress. A translation
        // racing with a driver's change may see either side, as on hardware, and is not a missing invalidation; such
        // comparisons are left out. The lock is not held across the translation: a fault event it raises reaches the
        // driver, which may take the unit's register lock, and the queue takes the program lock under that one.
        long invalidations;
        lock (_programLock)
            invalidations = _invalidationSequence;
        bool quiet = log.IsQuiet(out long writes) && Volatile.Read(ref _fillsInFlight) == 0;
        TranslationResult cached = TranslateCached(request, counters);
        TranslationResult fresh;
        ContextCacheEntry? freshContext;
        TranslationTarget? freshTarget;
        using (EpochScope scope = _memory.Reclaimer.Protect())
            fresh = FreshTranslate(request, out freshContext, out freshTarget);
        long after;
        lock (_programLock)
        {
            if (!quiet || _invalidationSequence != invalidations || Volatile.Read(ref _fillsInFlight) != 0
                || !log.IsQuiet(out after) || after != writes)
                return cached;
            sanitizer.Compared();
            if (!Agree(cached, fresh))
                CheckStale(sanitizer, request, cached, fresh, freshContext, freshTarget);
        }
        return cached;
    }

    private static bool Agree(TranslationResult a, TranslationResult b) =>
        a.IsSuccess == b.IsSuccess && (!a.IsSuccess || (a.Hpa == b.Hpa && a.Permissions == b.Permissions));

    /// <summary>What the unit would return with every cache empty: root, context, PASID entries and the page walk, read
    /// from memory now; nothing is cached, counted or recorded.</summary>
    private TranslationResult FreshTranslate(in DmaRequest request, out ContextCacheEntry? context, out TranslationTarget? target)
    {
        target = null;
        FaultReason reason = IsScalableMode ? ReadScalableContext(request.RequesterId, out context) : ReadLegacyContext(request, out context);
        if (context is null)
            return TranslationResult.Faulted(reason);
        if (!context.Scalable)
        {
            target = context.NoPasid;
        }
        else
        {
            bool suppress = false;
            uint pasid = request.HasPasid ? request.Pasid : context.RidPasid;
            if (request.HasPasid && (!context.PasidEnabled || PasidWidth == 0))
                return TranslationResult.Faulted(FaultReason.SmPasidNotEnabled);
            if (pasid >= context.PasidLimit)
                return TranslationResult.Faulted(FaultReason.SmPasidTooLarge);
            reason = ReadPasidEntry(context, pasid, out target, ref suppress);
            if (target is null)
                return TranslationResult.Faulted(reason);
        }
        if (target!.PassThrough)
            return new TranslationResult(request.Iova, VtdPaging.PageShift, DmaProtection.ReadWrite, FaultReason.None);
        if (target.FirstLevel.Enabled)
            return FreshFirstLevel(request, target);
        WalkResult walk = _walker.Walk(target.Root, target.Levels, request.Iova, request.Access);
        // With SLADE a clean page is reported (and cached) without W until a write dirties it.
        DmaProtection rights = target.AccessedDirty && (walk.Entry & SecondLevelEntry.DirtyBit) == 0 && (request.Access & DmaAccess.Write) == 0
            ? walk.Permissions & DmaProtection.Read : walk.Permissions;
        return walk.IsSuccess
            ? new TranslationResult(walk.Hpa, VtdPaging.LevelShift(walk.Level), rights, FaultReason.None)
            : TranslationResult.Faulted(WalkFaultReason(walk.Status, request.Access));
    }

    /// <summary>Works out which cache held the stale state and which table entry changed; reports when an invalidation
    /// for that domain or device has run since the change.</summary>
    private void CheckStale(InvalidationSanitizer sanitizer, in DmaRequest request, TranslationResult cached, TranslationResult fresh,
        ContextCacheEntry? freshContext, TranslationTarget? freshTarget)
    {
        ushort rid = request.RequesterId;
        ContextCacheEntry? cachedContext = Volatile.Read(ref _contextCache[rid]);
        TranslationTarget? cachedTarget = cachedContext == null ? null
            : request.HasPasid ? cachedContext.LookupPasid(request.Pasid) : Volatile.Read(ref cachedContext.NoPasid);
        MemoryWriteLog? log = _memory.WriteLog;
        if (log is null || cachedContext is null)
            return;
        uint pasid = request.HasPasid ? request.Pasid : cachedContext.RidPasid;
        uint? pasidTag = IsScalableMode ? pasid : null;
        ulong page = request.Iova & ~(VtdPaging.PageSize - 1);

        StaleCache cache;
        ushort did;
        Span<ulong> path = stackalloc ulong[8];
        int entries = 0;
        if (freshContext is null || !SameContext(cachedContext, freshContext))
        {
            cache = StaleCache.ContextCache;
            did = cachedTarget?.DomainId ?? 0;
            ulong rootEntry = RootEntryHpa(rid);
            path[entries++] = rootEntry;
            if (ContextEntryHpa(rid, rootEntry) is ulong contextEntry)
                path[entries++] = contextEntry;
        }
        else if (cachedTarget is not null && (freshTarget is null || !SameTarget(cachedTarget, freshTarget)))
        {
            cache = StaleCache.PasidCache;
            did = cachedTarget.DomainId;
            ulong directoryEntry = cachedContext.PasidDirectory + (ulong)(pasid >> 6) * PasidDirectoryEntry.Size;
            path[entries++] = directoryEntry;
            if (_memory.Contains(directoryEntry, 8))
            {
                var dir = new PasidDirectoryEntry(_memory.ReadUInt64(directoryEntry));
                if (dir.IsPresent)
                    path[entries++] = dir.PasidTable + (pasid & 63) * PasidEntry.Size;
            }
        }
        else if (cachedTarget is not null && !cachedTarget.PassThrough)
        {
            cache = StaleCache.Iotlb;
            did = cachedTarget.DomainId;
            entries = WalkPath(cachedTarget, request.Iova, path);
        }
        else
        {
            return;
        }

        MemoryWrite? changed = log.LastWrite(path[..entries]);
        // No logged change: nothing to name. An invalidation not yet issued since the change: still in flight.
        if (changed is not MemoryWrite w || !sanitizer.InvalidatedSince(cache, w.Sequence, did))
            return;
        string missing = cache switch
        {
            StaleCache.Iotlb when IsScalableMode && request.HasPasid =>
                $"PASID-based IOTLB invalidation DID {did} PASID {pasid} ADDR 0x{page:x} AM 0",
            StaleCache.Iotlb => $"IOTLB invalidation (page-selective) DID {did} ADDR 0x{page:x} AM 0",
            StaleCache.PasidCache => $"PASID-cache invalidation (PASID-selective) DID {did} PASID {pasid}",
            _ => $"context-cache invalidation (device-selective) SID {RequesterIds.Format(rid)} DID {did}",
        };
        sanitizer.Report(new StaleTranslationReport(request, cached, fresh, cache, did, pasidTag, changed, missing));
    }

    /// <summary>The entries a walk of <paramref name="target"/>'s table reads for <paramref name="iova"/>: each level's,
    /// down to the leaf or the first entry that is not present.</summary>
    private int WalkPath(TranslationTarget target, ulong iova, Span<ulong> path)
    {
        int entries = 0;
        ulong table = target.Root;
        for (int level = target.Levels; level >= 1 && entries < path.Length; level--)
        {
            ulong at = table + (ulong)VtdPaging.Index(iova, level) * 8;
            if (!_memory.Contains(at, 8))
                break;
            path[entries++] = at;
            ulong entry = _memory.ReadUInt64(at);
            if ((entry & 3) == 0 || level == 1 || (entry & SecondLevelEntry.PageSizeBit) != 0)
                break;
            table = entry & SecondLevelEntry.AddressMask;
        }
        return entries;
    }

    /// <summary>
    /// The sanitizer's look at a function's ATC hit (<see cref="Ats.DeviceTlb"/> calls it while the sanitizer is on): the
    /// translation the ATC gave is compared with memory now; when they differ, the page table changed after the function
    /// cached the translation, the driver has invalidated the domain's IOTLB since, and no device-TLB invalidation
    /// reached the function since the change, the missing device-TLB invalidation is reported. Inconclusive comparisons
    /// (a write, an invalidation or a fill under way) are left out, as for the unit's own caches.
    /// </summary>
    /// <param name="request">The request the ATC answered (the function's requester id).</param>
    /// <param name="cached">What the ATC answered.</param>
    internal void CheckDeviceTlbHit(in DmaRequest request, TranslationResult cached)
    {
        MemoryWriteLog? log = _memory.WriteLog;
        InvalidationSanitizer? sanitizer = _sanitizer;
        if (sanitizer is null || log is null || !_translationEnabled)
            return;
        long invalidations;
        lock (_programLock)
            invalidations = _invalidationSequence;
        if (!log.IsQuiet(out long writes) || Volatile.Read(ref _fillsInFlight) != 0)
            return;
        TranslationResult fresh;
        TranslationTarget? freshTarget;
        using (EpochScope scope = _memory.Reclaimer.Protect())
            fresh = FreshTranslate(request, out _, out freshTarget);
        lock (_programLock)
        {
            if (_invalidationSequence != invalidations || !log.IsQuiet(out long after) || after != writes)
                return;
        }
        sanitizer.Compared();
        if (Agree(cached, fresh))
            return;
        ushort rid = request.RequesterId;
        ContextCacheEntry? context = Volatile.Read(ref _contextCache[rid]);
        TranslationTarget? target = (context == null ? null : request.HasPasid ? context.LookupPasid(request.Pasid) : Volatile.Read(ref context.NoPasid))
            ?? freshTarget;
        if (target is null || target.PassThrough)
            return;
        Span<ulong> path = stackalloc ulong[8];
        MemoryWrite? changed = log.LastWrite(path[..WalkPath(target, request.Iova, path)]);
        if (changed is not MemoryWrite w || !sanitizer.InvalidatedSince(StaleCache.Iotlb, w.Sequence, target.DomainId)
            || sanitizer.DeviceTlbInvalidatedSince(rid, w.Sequence))
            return;
        ulong page = request.Iova & ~(VtdPaging.PageSize - 1);
        bool withPasid = request.HasPasid && (context == null || request.Pasid != context.RidPasid);
        string missing = withPasid
            ? $"PASID-based device-TLB invalidation SID {RequesterIds.Format(rid)} PASID {request.Pasid} ADDR 0x{page:x} S 0"
            : $"device-TLB invalidation SID {RequesterIds.Format(rid)} ADDR 0x{page:x} S 0";
        uint? pasidTag = IsScalableMode ? (request.HasPasid ? request.Pasid : context?.RidPasid) : null;
        sanitizer.Report(new StaleTranslationReport(request, cached, fresh, StaleCache.DeviceTlb, target.DomainId, pasidTag, changed, missing));
    }

    private ulong RootEntryHpa(ushort rid) =>
        _rootTable + (ulong)(rid >> 8) * RootEntry.Size + (IsScalableMode && (rid & 0xFF) >= 128 ? 8UL : 0);

    private ulong? ContextEntryHpa(ushort rid, ulong rootEntryHpa)
    {
        if (!_memory.Contains(rootEntryHpa, 8))
            return null;
        ulong root = _memory.ReadUInt64(rootEntryHpa);
        if ((root & RootEntry.PresentBit) == 0)
            return null;
        return (root & RootEntry.PointerMask) + (IsScalableMode ? (ulong)(rid & 0x7F) * ScalableContextEntry.Size : (ulong)(rid & 0xFF) * ContextEntry.Size);
    }

    private static bool SameContext(ContextCacheEntry a, ContextCacheEntry b) =>
        a.Scalable == b.Scalable && (a.Scalable
            ? a.PasidDirectory == b.PasidDirectory && a.PasidEnabled == b.PasidEnabled && a.RidPasid == b.RidPasid && a.PasidLimit == b.PasidLimit
            : SameTarget(a.NoPasid, b.NoPasid));

    private static bool SameTarget(TranslationTarget? a, TranslationTarget? b) =>
        a is null ? b is null : b is not null && a.PassThrough == b.PassThrough && a.DomainId == b.DomainId && a.Root == b.Root && a.Levels == b.Levels;

    /// <summary>The first-level answer from memory now, without setting A or D (a look, not a translation).</summary>
    private TranslationResult FreshFirstLevel(in DmaRequest request, TranslationTarget target)
    {
        DmaRequestAttributes attributes = request.Attributes;
        if ((attributes & DmaRequestAttributes.Privileged) != 0 && !target.FirstLevel.SupervisorRequests)
            return TranslationResult.Faulted(FaultReason.SmSupervisorRequestsNotEnabled);
        if ((attributes & DmaRequestAttributes.Execute) != 0 && !target.FirstLevel.ExecuteRequests)
            return TranslationResult.Faulted(FaultReason.SmExecuteRequestsNotEnabled);
        FirstLevelWalk walk = _firstLevelWalker.Walk(target.Root, target.Levels, request.Iova, FirstLevelModeOf(request, target.FirstLevel),
            updateAccessedDirty: false, SecondStageOf(target));
        if (!walk.IsSuccess)
            return TranslationResult.Faulted(FirstLevelFaultReason(walk, request.Access, target.Levels));
        // A write would set D: its rights are those the translation reports once it has.
        DmaProtection rights = (request.Access & DmaAccess.Write) != 0 ? walk.Permissions : FirstLevelRights(walk);
        return new TranslationResult(walk.PageHpa | (request.Iova & ((1UL << walk.PageShift) - 1)), walk.PageShift, rights, FaultReason.None);
    }
}
