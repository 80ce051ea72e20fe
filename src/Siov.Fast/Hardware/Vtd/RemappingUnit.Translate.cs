using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Siov.Fast.Caching;
using Siov.Fast.Concurrency;
using Siov.Fast.PageTables;

namespace Siov.Fast.Hardware.Vtd;

public sealed partial class RemappingUnit
{
    /// <summary>
    /// Translates one DMA request as the hardware does (VT-d spec chapter 3): requester id to
    /// context entry, PASID (or RID_PASID) to PASID entry in scalable mode, then the IOTLB or a
    /// second-level walk. Never throws, never allocates, takes no lock on an IOTLB hit.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <returns>The HPA, page size and permissions, or the fault reason (legacy codes 01h-0Dh in
    /// legacy mode, scalable-mode codes 30h-90h in scalable mode). A fault is also recorded in
    /// <see cref="Faults"/> unless a fault-processing-disable bit covers it. Pass-through returns
    /// the IOVA as the HPA, with a 4 KiB page size and read/write permission.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TranslationResult Translate(in DmaRequest request) => TranslateOne(request, _counters.Current);

    /// <summary>Translates one DMA request; see <see cref="Translate(in DmaRequest)"/>.</summary>
    /// <param name="requesterId">Requester id (bus &lt;&lt; 8 | device &lt;&lt; 3 | function).</param>
    /// <param name="pasid">PASID, or null for a request without PASID.</param>
    /// <param name="iova">Input address.</param>
    /// <param name="access">Read, Write or both.</param>
    /// <returns>The translation or fault.</returns>
    public TranslationResult Translate(ushort requesterId, uint? pasid, ulong iova, DmaAccess access) =>
        TranslateOne(new DmaRequest(requesterId, pasid, iova, access), _counters.Current);

    /// <summary>
    /// Translates a batch: <c>results[i]</c> is exactly what <see cref="Translate(in DmaRequest)"/>
    /// returns for <c>requests[i]</c>, in order. No allocation.
    /// </summary>
    /// <param name="requests">The requests.</param>
    /// <param name="results">Receives one result per request; at least as long as <paramref name="requests"/>.</param>
    /// <exception cref="IommuException">EINVAL when <paramref name="results"/> is shorter than <paramref name="requests"/> (nothing is translated).</exception>
    /// <remarks>The batch loop works out each request's target, IOTLB set and tag key 16 requests
    /// ahead and prefetches the set, so the cache misses of
    /// several requests overlap and a hit is left with one compare; it counts translations and hits
    /// in locals and adds them to the thread's counters once per batch. After a batch that mostly
    /// missed, it prefetches the leaf entry of the walk ahead instead. Its walks run inside one epoch
    /// scope, entered at the batch's first miss and left at its end. A request that is in flight in
    /// the loop when its context or PASID entry is invalidated may still be translated through the
    /// old one, as in hardware; its IOTLB entry is checked under the set's sequence lock as always.</remarks>
    public void Translate(ReadOnlySpan<DmaRequest> requests, Span<TranslationResult> results) =>
        Translate(requests, results, _counters.Current);

    /// <summary>
    /// Opens a <see cref="TranslationPort"/>: a way in for one thread (a device model's DMA engine)
    /// that translates exactly as <see cref="Translate(in DmaRequest)"/> does but counts into a
    /// statistics block of its own, so a call needs no lookup of the calling thread's block.
    /// </summary>
    /// <returns>A new port; its counts show in <see cref="Statistics"/> from now on. Ports are not closed.</returns>
    public TranslationPort OpenPort() => new(this, _counters.AddPortBlock());

    /// <summary>The batch translation, counted in <paramref name="counters"/>.</summary>
    internal void Translate(ReadOnlySpan<DmaRequest> requests, Span<TranslationResult> results, ThreadCounters counters)
    {
        if (results.Length < requests.Length)
            Throw.Iommu(Errno.EINVAL, $"batch translate: results has {results.Length} slots for {requests.Length} requests");
        results = results[..requests.Length];
        if (_sanitizer is not null)
        {
            // Every request is checked against memory: no pipelined hit loop.
            for (int i = 0; i < requests.Length; i++)
                results[i] = TranslateChecked(requests[i], counters);
            return;
        }
        long hits = 0;
        // Entered at the batch's first miss and held to its end: one compare-and-swap per batch
        // instead of one per walk. It only delays the freeing of unlinked table pages by a batch.
        EpochScope epoch = default;
        bool inEpoch = false;
        try
        {
            TranslateBatch(requests, results, counters, ref hits, ref epoch, ref inEpoch);
        }
        finally
        {
            epoch.Dispose();
        }
        // Plain adds to this thread's own block (see ThreadCounters); readers may see them a batch late.
        counters.Translations += requests.Length;
        counters.IotlbHits += hits;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TranslateBatch(ReadOnlySpan<DmaRequest> requests, Span<TranslationResult> results, ThreadCounters counters,
        ref long hitCount, ref EpochScope epoch, ref bool inEpoch)
    {
        long hits = 0;
        // After a batch that mostly missed, also follow the tables ahead and prefetch the leaf entry.
        bool walkAhead = counters.WalkAhead;
        int i = 0;
        while (true)
        {
            // The hit loop makes no call, so its state stays in registers; it stops at a miss, or at
            // any request when several page sizes are cached or the probe is Scalar (<see cref="Iotlb.CanProbeAhead"/> false).
            int stop = walkAhead ? TranslateHitsWalkingAhead(requests, results, i)
                : _iotlb.Path == IotlbProbePath.Vector256 ? TranslateHitsPipelined<Vector256SetProbe>(requests, results, i)
                : TranslateHitsPipelined<Vector128SetProbe>(requests, results, i);
            hits += stop - i;
            if (stop == requests.Length)
                break;
            if (!inEpoch)
            {
                epoch = _memory.Reclaimer.Protect();
                inEpoch = true;
            }
            ref readonly DmaRequest request = ref requests[stop];
            TranslationTarget? target = _contextCache[request.RequesterId]?.Lookup(request);
            // The hit loop's probe covers one page size; with several cached, the general lookup answers.
            if (target != null && !_iotlb.CanProbeAhead && _iotlb.TryTranslate(request.Iova, target.Space, request.Access, out results[stop]))
                hits++;
            else
                results[stop] = TranslateSlow(request, target, counters, walkProtected: true);
            i = stop + 1;
        }
        hitCount = hits;
        counters.WalkAhead = (requests.Length - hits) * 8 > requests.Length;
    }

    /// <summary>How many requests ahead the pipelined hit loop prepares and prefetches IOTLB sets
    /// (a power of two: the ring's size). 16 beat 8 on siov64 and huge2m, whose sets are spread widest.</summary>
    private const int PipelineDepth = 16;

    /// <summary>How many requests ahead the walk-ahead loop prefetches (16 was no better for cold4k).</summary>
    private const int WalkAheadDistance = 8;

    /// <summary>
    /// Translates from <paramref name="start"/> while requests hit the IOTLB; returns the index of
    /// the first request that did not (or the batch length). A two-stage pipeline: each request's
    /// target, IOTLB set and tag key are worked out <see cref="PipelineDepth"/> requests ahead,
    /// when its set is prefetched, and kept in a ring on the stack; when its turn comes, only the
    /// compare, the data load and the result remain.
    /// </summary>
    /// <remarks>Kept small on purpose and free of calls: every extra live value spills. It runs only
    /// while one page size is cached and the probe is a SIMD path (<see cref="Iotlb.CanProbeAhead"/>);
    /// otherwise it returns at once and the caller's general lookup answers. A pass-through target
    /// has the uncacheable IOTLB space, so it misses here and the slow path answers it.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe int TranslateHitsPipelined<TProbe>(ReadOnlySpan<DmaRequest> requests, Span<TranslationResult> results, int start)
        where TProbe : struct, ISetProbe
    {
        Iotlb iotlb = _iotlb;
        if (!iotlb.CanProbeAhead)
            return start;
        // References instead of indexing: the batch entry point sliced results to the requests'
        // length, and a requester id (16 bits) always indexes the 65,536-entry context cache.
        Debug.Assert(results.Length == requests.Length && _contextCache.Length == RequesterIdCount);
        ref readonly DmaRequest first = ref MemoryMarshal.GetReference(requests);
        ref TranslationResult out0 = ref MemoryMarshal.GetReference(results);
        ref ContextCacheEntry? contexts = ref MemoryMarshal.GetArrayDataReference(_contextCache);
        IotlbProbe* ring = stackalloc IotlbProbe[PipelineDepth];
        int count = requests.Length;
        for (int j = start; j < count && j < start + PipelineDepth; j++)
            ring[j & (PipelineDepth - 1)] = Stage(Unsafe.Add(ref Unsafe.AsRef(in first), j), ref contexts, iotlb);
        for (int i = start; i < count; i++)
        {
            IotlbProbe* slot = ring + (i & (PipelineDepth - 1));
            ref readonly DmaRequest request = ref Unsafe.Add(ref Unsafe.AsRef(in first), i);
            if (!iotlb.TryTranslate<TProbe>(*slot, request.Iova, request.Access, out Unsafe.Add(ref out0, i)))
                return i;
            if ((uint)(i + PipelineDepth) < (uint)count)
                *slot = Stage(Unsafe.Add(ref Unsafe.AsRef(in first), i + PipelineDepth), ref contexts, iotlb);
        }
        return count;
    }

    /// <summary>The first stage of <see cref="TranslateHitsPipelined{TProbe}"/>: the target from the context
    /// and PASID caches, then the IOTLB's prepared probe (which prefetches its set); a request without a
    /// cached target gets the probe that never hits, and goes to the slow path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static IotlbProbe Stage(in DmaRequest request, ref ContextCacheEntry? contexts, Iotlb iotlb)
    {
        TranslationTarget? target = Unsafe.Add(ref contexts, request.RequesterId)?.Lookup(request);
        return target == null ? default : iotlb.PrepareProbe(request.Iova, target.Space);
    }

    /// <summary>
    /// The hit loop after a batch that mostly missed: like <see cref="TranslateHitsPipelined{TProbe}"/> but one
    /// request at a time, and it also follows the tables of the request ahead and prefetches its
    /// leaf entry, so the walks that follow a miss find their entries in cache.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int TranslateHitsWalkingAhead(ReadOnlySpan<DmaRequest> requests, Span<TranslationResult> results, int start)
    {
        ContextCacheEntry?[] contexts = _contextCache;
        Iotlb iotlb = _iotlb;
        for (int i = start; i < requests.Length; i++)
        {
            if ((uint)(i + WalkAheadDistance) < (uint)requests.Length)
                PrefetchProbe(requests[i + WalkAheadDistance]);
            ref readonly DmaRequest request = ref requests[i];
            TranslationTarget? target = contexts[request.RequesterId]?.Lookup(request);
            if (target == null || !iotlb.TryTranslateFast(request.Iova, target.Space, request.Access, out results[i]))
                return i;
        }
        return requests.Length;
    }

    /// <summary>After a batch that mostly missed: prefetches the IOTLB set a request will probe and
    /// the leaf entry of its walk, when its context and PASID entries are cached (a hint only).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PrefetchProbe(in DmaRequest request)
    {
        TranslationTarget? target = _contextCache[request.RequesterId]?.Lookup(request);
        if (target == null || target.PassThrough)
            return;
        _iotlb.Prefetch(request.Iova, target.Space);
        // Also right for a first-level table: the address, PS and present bits sit where the second-level walk looks.
        _walker.PrefetchWalk(target.Root, target.Levels, request.Iova);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal TranslationResult TranslateOne(in DmaRequest request, ThreadCounters counters) =>
        _sanitizer is null ? TranslateCached(request, counters) : TranslateChecked(request, counters);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private TranslationResult TranslateCached(in DmaRequest request, ThreadCounters counters)
    {
        counters.Translations++;
        ContextCacheEntry? context = _contextCache[request.RequesterId];
        TranslationTarget? target = context?.Lookup(request);
        if (target != null && _iotlb.TryTranslate(request.Iova, target.Space, request.Access, out TranslationResult hit))
        {
            counters.IotlbHits++;
            return hit;
        }
        return TranslateSlow(request, target, counters);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private TranslationResult TranslateSlow(in DmaRequest request, TranslationTarget? target, ThreadCounters counters, bool walkProtected = false)
    {
        if (request.IsTranslated)
            return TranslatedRequest(request, counters);
        if (target == null)
        {
            if (!_translationEnabled)
            {
                // GSTS_REG.TES clear: DMA is not remapped (nothing is cached while translation is off).
                counters.PassThrough++;
                return new TranslationResult(request.Iova, VtdPaging.PageShift, DmaProtection.ReadWrite, FaultReason.None);
            }
            FaultReason reason = ResolveTarget(request, counters, out target, out bool suppress);
            if (target == null)
                return Fault(request, reason, suppress, counters);
            // The IOTLB holds user-mode rights: a privileged or execute request is answered by a walk.
            if (request.Attributes == DmaRequestAttributes.None && _iotlb.TryTranslate(request.Iova, target.Space, request.Access, out TranslationResult hit))
            {
                counters.IotlbHits++;
                return hit;
            }
        }
        if (target.PassThrough)
        {
            counters.PassThrough++;
            return new TranslationResult(request.Iova, VtdPaging.PageShift, DmaProtection.ReadWrite, FaultReason.None);
        }
        return WalkAndFill(request, target, counters, walkProtected);
    }

    // walkProtected: the caller already holds an epoch scope (the batch loop).
    private TranslationResult WalkAndFill(in DmaRequest request, TranslationTarget target, ThreadCounters counters, bool walkProtected)
    {
        if (_sanitizer is null)
            return WalkAndFillCore(request, target, counters, walkProtected);
        // With the sanitizer on, a fill in progress makes every comparison inconclusive (a racing fill may install a
        // stale entry for the moment before it takes it back).
        Interlocked.Increment(ref _fillsInFlight);
        try
        {
            return WalkAndFillCore(request, target, counters, walkProtected);
        }
        finally
        {
            Interlocked.Decrement(ref _fillsInFlight);
        }
    }

    private TranslationResult WalkAndFillCore(in DmaRequest request, TranslationTarget target, ThreadCounters counters, bool walkProtected)
    {
        if (target.FirstLevel.Enabled)
            return FirstLevelWalkAndFill(request, target, counters, walkProtected);
        counters.IotlbMisses++;
        ulong iova = request.Iova;
        int mgaw = Capability.MaximumGuestAddressWidth;
        if (mgaw < 64 && (iova >> mgaw) != 0)
            return Fault(request, IsScalableMode ? FaultReason.SmAddressBeyondWidth : FaultReason.AccessBeyondMgaw,
                target.FaultProcessingDisable, counters);

        // Read before the walk: a fill is dropped if an invalidation ran after this point.
        long sequence = Volatile.Read(ref _invalidationSequence);
        WalkResult walk;
        if (walkProtected)
        {
            walk = _walker.Walk(target.Root, target.Levels, iova, request.Access);
        }
        else
        {
            using EpochScope scope = _memory.Reclaimer.Protect();
            walk = _walker.Walk(target.Root, target.Levels, iova, request.Access);
        }
        counters.PageWalks++;

        if (walk.Status is WalkStatus.Success or WalkStatus.ReadDenied or WalkStatus.WriteDenied)
        {
            int shift = VtdPaging.LevelShift(walk.Level);
            DmaProtection rights = walk.Permissions;
            if (target.AccessedDirty)
            {
                // SLADE: A along the walk, D on a write; the IOTLB keeps W only once D is set, so the first write walks.
                bool dirty = walk.Status == WalkStatus.Success
                    && _walker.SetAccessedDirty(target.Root, target.Levels, iova, (request.Access & DmaAccess.Write) != 0);
                if (!dirty)
                    rights &= DmaProtection.Read;
            }
            _iotlb.Fill(iova, shift, target.Space, walk.PageHpa, rights, ref _invalidationSequence, sequence);
            if (walk.Status == WalkStatus.Success)
                return new TranslationResult(walk.Hpa, shift, rights, FaultReason.None);
        }
        return Fault(request, WalkFaultReason(walk.Status, request.Access), target.FaultProcessingDisable, counters);
    }

    // The IOTLB address space is resolved here, on a context- or PASID-cache fill, not per translation.
    private TranslationTarget NewTarget(bool passThrough, ushort domainId, uint pasidTag, ulong root, int levels, bool faultProcessingDisable,
        FirstLevelPolicy firstLevel = default) =>
        new(passThrough, domainId, pasidTag, root, levels, faultProcessingDisable,
            passThrough ? default : _iotlb.SpaceOf(Iotlb.Tag(domainId, pasidTag)), firstLevel);

    private FaultReason WalkFaultReason(WalkStatus status, DmaAccess access)
    {
        bool write = (access & DmaAccess.Write) != 0 && (access & DmaAccess.Read) == 0;
        return (IsScalableMode, status) switch
        {
            (false, WalkStatus.NotPresent) => write ? FaultReason.PteWriteAccessNotSet : FaultReason.PteReadAccessNotSet,
            (false, WalkStatus.ReadDenied) => FaultReason.PteReadAccessNotSet,
            (false, WalkStatus.WriteDenied) => FaultReason.PteWriteAccessNotSet,
            (false, WalkStatus.ReservedBitsSet) => FaultReason.PteReservedBits,
            (false, WalkStatus.AddressBeyondWidth) => FaultReason.AccessBeyondMgaw,
            (false, _) => FaultReason.NextPageTablePointerInvalid,
            (true, WalkStatus.NotPresent) => FaultReason.SmSecondLevelNotPresent,
            (true, WalkStatus.ReadDenied) => FaultReason.SmNoReadPermission,
            (true, WalkStatus.WriteDenied) => FaultReason.SmNoWritePermission,
            (true, WalkStatus.ReservedBitsSet) => FaultReason.SmSecondLevelReservedBits,
            (true, WalkStatus.AddressBeyondWidth) => FaultReason.SmAddressBeyondWidth,
            (true, _) => FaultReason.SmSecondLevelAccessError,
        };
    }

    private TranslationResult Fault(in DmaRequest request, FaultReason reason, bool suppressRecording, ThreadCounters counters)
    {
        counters.Faults++;
        if (!suppressRecording)
        {
            // T = write only for a pure write; a read or an atomic (read + write) is reported as a read.
            bool isWrite = (request.Access & DmaAccess.Write) != 0 && (request.Access & DmaAccess.Read) == 0;
            var record = new FaultRecord(request.RequesterId, request.HasPasid, request.Pasid,
                request.Iova & ~(VtdPaging.PageSize - 1), reason, isWrite);
            Faults.Record(record);
            RecordPrimaryFault(record);
        }
        return TranslationResult.Faulted(reason);
    }

    /// <summary>
    /// Context-cache or PASID-cache miss: reads the root, context, PASID directory and PASID
    /// entries from memory, checks them as the hardware does, and caches what is valid.
    /// </summary>
    private FaultReason ResolveTarget(in DmaRequest request, ThreadCounters counters, out TranslationTarget? target, out bool suppress)
    {
        if (_sanitizer is null)
            return ResolveTargetCore(request, counters, out target, out suppress);
        Interlocked.Increment(ref _fillsInFlight); // as in WalkAndFill
        try
        {
            return ResolveTargetCore(request, counters, out target, out suppress);
        }
        finally
        {
            Interlocked.Decrement(ref _fillsInFlight);
        }
    }

    private FaultReason ResolveTargetCore(in DmaRequest request, ThreadCounters counters, out TranslationTarget? target, out bool suppress)
    {
        target = null;
        suppress = false;
        long sequence = Volatile.Read(ref _invalidationSequence);
        using EpochScope scope = _memory.Reclaimer.Protect();
        FaultReason contextReason = ResolveContext(request, counters, sequence, out ContextCacheEntry? context);
        if (context == null)
            return contextReason;

        if (!context.Scalable)
        {
            if (request.HasPasid)
                return FaultReason.SmLegacyModeRequestWithPasid;
            target = context.NoPasid;
            return FaultReason.None;
        }

        suppress = context.FaultProcessingDisable;
        uint pasid = request.HasPasid ? request.Pasid : context.RidPasid;
        if (request.HasPasid && (!context.PasidEnabled || PasidWidth == 0))
            return FaultReason.SmPasidNotEnabled;
        if (pasid >= context.PasidLimit)
            return FaultReason.SmPasidTooLarge;
        TranslationTarget? cached = request.HasPasid ? context.LookupPasid(request.Pasid) : Volatile.Read(ref context.NoPasid);
        if (cached != null)
        {
            target = cached;
            return FaultReason.None;
        }

        counters.PasidCacheMisses++;
        FaultReason pasidReason = ReadPasidEntry(context, pasid, out target, ref suppress);
        if (target == null)
            return pasidReason;
        ref TranslationTarget? slot = ref request.HasPasid ? ref context.Slot(pasid) : ref context.NoPasid;
        InstallTarget(ref slot, target, sequence);
        return FaultReason.None;
    }

    /// <summary>The context-cache entry of the request's requester id, read from memory and cached on a miss (the caller holds
    /// an epoch scope and read <paramref name="sequence"/> before).</summary>
    private FaultReason ResolveContext(in DmaRequest request, ThreadCounters counters, long sequence, out ContextCacheEntry? context)
    {
        context = Volatile.Read(ref _contextCache[request.RequesterId]);
        if (context != null)
            return FaultReason.None;
        counters.ContextCacheMisses++;
        FaultReason reason = IsScalableMode
            ? ReadScalableContext(request.RequesterId, out context)
            : ReadLegacyContext(request, out context);
        if (context != null)
            InstallContext(request.RequesterId, context, sequence);
        return reason;
    }

    private void InstallContext(ushort requesterId, ContextCacheEntry context, long sequence)
    {
        ref ContextCacheEntry? slot = ref _contextCache[requesterId];
        if (Interlocked.CompareExchange(ref slot, context, null) == null
            && Volatile.Read(ref _invalidationSequence) != sequence)
            Interlocked.CompareExchange(ref slot, null, context); // an invalidation raced with the read: undo
    }

    private void InstallTarget(ref TranslationTarget? slot, TranslationTarget target, long sequence)
    {
        if (Interlocked.CompareExchange(ref slot, target, null) == null
            && Volatile.Read(ref _invalidationSequence) != sequence)
            Interlocked.CompareExchange(ref slot, null, target);
    }

    private FaultReason ReadLegacyContext(in DmaRequest request, out ContextCacheEntry? context)
    {
        context = null;
        if (request.HasPasid)
            return FaultReason.SmLegacyModeRequestWithPasid;
        ushort rid = request.RequesterId;
        ulong rootLow = _memory.ReadUInt64(_rootTable + (ulong)(rid >> 8) * RootEntry.Size);
        ulong rootHigh = _memory.ReadUInt64(_rootTable + (ulong)(rid >> 8) * RootEntry.Size + 8);
        if ((rootLow & RootEntry.PresentBit) == 0)
            return FaultReason.RootEntryNotPresent;
        if ((rootLow & (RootEntry.ReservedLowBits | _reservedAboveHaw)) != 0 || rootHigh != 0)
            return FaultReason.RootEntryReservedBits;
        ulong entryHpa = (rootLow & RootEntry.PointerMask) + (ulong)(rid & 0xFF) * ContextEntry.Size;
        if (!_memory.Contains(entryHpa, ContextEntry.Size))
            return FaultReason.ContextTablePointerInvalid;
        var entry = new ContextEntry(_memory.ReadUInt64(entryHpa), _memory.ReadUInt64(entryHpa + 8));
        if (!entry.IsPresent)
            return FaultReason.ContextEntryNotPresent;
        if ((entry.Low & (ContextEntry.ReservedLowBits | _reservedAboveHaw)) != 0 || (entry.High & ContextEntry.ReservedHighBits) != 0)
            return FaultReason.ContextEntryReservedBits;
        TranslationTarget target;
        switch (entry.TranslationType)
        {
            case 0:
            case 1 when ExtendedCapability.DeviceTlb:
                int levels = entry.AddressWidth + 2;
                if (!Capability.SupportsLevels(levels))
                    return FaultReason.InvalidContextEntry;
                target = NewTarget(false, entry.DomainId, Iotlb.NoPasid, entry.SecondLevelRoot, levels, entry.FaultProcessingDisable);
                break;
            case 2 when ExtendedCapability.PassThrough:
                target = NewTarget(true, entry.DomainId, Iotlb.NoPasid, 0, 0, entry.FaultProcessingDisable);
                break;
            default:
                return FaultReason.InvalidContextEntry;
        }
        context = new ContextCacheEntry(target, entry.FaultProcessingDisable, deviceTlbEnabled: entry.TranslationType == 1);
        return FaultReason.None;
    }

    private FaultReason ReadScalableContext(ushort rid, out ContextCacheEntry? context)
    {
        context = null;
        int devfn = rid & 0xFF;
        ulong root = _memory.ReadUInt64(_rootTable + (ulong)(rid >> 8) * RootEntry.Size + (devfn >= 128 ? 8UL : 0));
        if ((root & RootEntry.PresentBit) == 0)
            return FaultReason.SmRootEntryNotPresent;
        if ((root & (RootEntry.ReservedLowBits | _reservedAboveHaw)) != 0)
            return FaultReason.SmRootEntryReservedBits;
        ulong entryHpa = (root & RootEntry.PointerMask) + (ulong)(devfn & 0x7F) * ScalableContextEntry.Size;
        if (!_memory.Contains(entryHpa, ScalableContextEntry.Size))
            return FaultReason.SmContextEntryAccessError;
        var entry = new ScalableContextEntry(_memory.ReadUInt64(entryHpa), _memory.ReadUInt64(entryHpa + 8));
        if (!entry.IsPresent)
            return FaultReason.SmContextEntryNotPresent;
        if ((entry.Q0 & (ScalableContextEntry.ReservedQ0Bits | _reservedAboveHaw)) != 0
            || (entry.Q1 & ScalableContextEntry.ReservedQ1Bits) != 0
            || _memory.ReadUInt64(entryHpa + 16) != 0 || _memory.ReadUInt64(entryHpa + 24) != 0)
            return FaultReason.SmContextEntryReservedBits;
        if (entry.DeviceTlbEnable && !ExtendedCapability.DeviceTlb)
            return FaultReason.SmInvalidContextEntry;
        uint limit = 1u << (entry.PasidDirectorySize + 7 + 6);
        context = new ContextCacheEntry(entry.PasidEnable, entry.RidPasid, limit, entry.PasidDirectory, entry.FaultProcessingDisable,
            entry.DeviceTlbEnable, entry.PageRequestEnable);
        return FaultReason.None;
    }

    private FaultReason ReadPasidEntry(ContextCacheEntry context, uint pasid, out TranslationTarget? target, ref bool suppress)
    {
        target = null;
        ulong directoryEntryHpa = context.PasidDirectory + (ulong)(pasid >> 6) * PasidDirectoryEntry.Size;
        if (!_memory.Contains(directoryEntryHpa, PasidDirectoryEntry.Size))
            return FaultReason.SmPasidDirectoryAccessError;
        var directoryEntry = new PasidDirectoryEntry(_memory.ReadUInt64(directoryEntryHpa));
        if (!directoryEntry.IsPresent)
            return FaultReason.SmPasidDirectoryNotPresent;
        suppress |= directoryEntry.FaultProcessingDisable;
        if ((directoryEntry.Value & (PasidDirectoryEntry.ReservedBits | _reservedAboveHaw)) != 0)
            return FaultReason.SmPasidDirectoryReservedBits;
        ulong entryHpa = directoryEntry.PasidTable + (pasid & 63) * PasidEntry.Size;
        if (!_memory.Contains(entryHpa, PasidEntry.Size))
            return FaultReason.SmPasidEntryAccessError;
        var entry = new PasidEntry(_memory.ReadUInt64(entryHpa), _memory.ReadUInt64(entryHpa + 8), _memory.ReadUInt64(entryHpa + 16));
        if (!entry.IsPresent)
            return FaultReason.SmPasidEntryNotPresent;
        suppress |= entry.FaultProcessingDisable;
        if ((entry.Q0 & PasidEntry.ReservedQ0Bits) != 0 || (entry.Q1 & PasidEntry.ReservedQ1Bits) != 0)
            return FaultReason.SmPasidEntryReservedBits;
        switch (entry.TranslationType)
        {
            case PasidTranslationType.SecondLevel when ExtendedCapability.SecondLevelTranslation:
                int levels = entry.AddressWidth + 2;
                if (!Capability.SupportsLevels(levels))
                    return FaultReason.SmInvalidPasidEntry;
                if ((entry.SecondLevelRoot & _reservedAboveHaw) != 0)
                    return FaultReason.SmPasidEntryReservedBits;
                if (entry.SecondLevelAccessedDirty && !ExtendedCapability.SecondLevelAccessedDirty)
                    return FaultReason.SmInvalidPasidEntry;
                target = entry.SecondLevelAccessedDirty
                    ? new TranslationTarget(false, entry.DomainId, pasid, entry.SecondLevelRoot, levels, suppress,
                        _iotlb.SpaceOf(Iotlb.Tag(entry.DomainId, pasid)), accessedDirty: true)
                    : NewTarget(false, entry.DomainId, pasid, entry.SecondLevelRoot, levels, suppress);
                return FaultReason.None;
            case PasidTranslationType.PassThrough when ExtendedCapability.PassThrough:
                target = NewTarget(true, entry.DomainId, pasid, 0, 0, suppress);
                return FaultReason.None;
            case PasidTranslationType.FirstLevel when ExtendedCapability.FirstLevelTranslation:
                return ReadFirstLevelEntry(entry, pasid, suppress, out target, nested: false);
            case PasidTranslationType.Nested when ExtendedCapability.NestedTranslation && ExtendedCapability.FirstLevelTranslation
                && ExtendedCapability.SecondLevelTranslation:
                return ReadFirstLevelEntry(entry, pasid, suppress, out target, nested: true);
            default:
                return FaultReason.SmInvalidPasidEntry;
        }
    }

    /// <summary>A first-level PASID entry (PGTT 001b): FLPM within what CAP_REG allows, the controls within what ECAP_REG
    /// allows (SRE needs SRS, ERE needs ERS, EAFE is not modelled), FLPTPTR below HAW, qword 2's reserved bits clear.</summary>
    private FaultReason ReadFirstLevelEntry(PasidEntry entry, uint pasid, bool suppress, out TranslationTarget? target, bool nested)
    {
        target = null;
        int secondStageLevels = 0;
        if (nested)
        {
            // The second stage as a PGTT 010b entry would have it: AW within SAGAW, SLPTPTR below HAW.
            secondStageLevels = entry.AddressWidth + 2;
            if (!Capability.SupportsLevels(secondStageLevels))
                return FaultReason.SmInvalidPasidEntry;
            if ((entry.SecondLevelRoot & _reservedAboveHaw) != 0)
                return FaultReason.SmPasidEntryReservedBits;
        }
        if ((entry.Q2 & (PasidEntry.ReservedQ2Field.Mask | _reservedAboveHaw)) != 0)
            return FaultReason.SmPasidEntryReservedBits;
        FirstLevelControls controls = entry.Controls;
        int mode = entry.FirstLevelPagingMode;
        if (mode > 1 || (mode == 1 && !Capability.FirstLevel5LevelPaging)
            || (controls.SupervisorRequests && !ExtendedCapability.SupervisorRequest)
            || (controls.ExecuteRequests && !ExtendedCapability.ExecuteRequest)
            || PasidEntry.ExtendedAccessedFlagEnableField.IsSet(entry.Q2))
            return FaultReason.SmInvalidPasidEntry;
        var policy = new FirstLevelPolicy(true, controls.SupervisorRequests, controls.ExecuteRequests, controls.WriteProtect, controls.NoExecute,
            controls.SupervisorExecuteProtect);
        target = new TranslationTarget(false, entry.DomainId, pasid, entry.FirstLevelRoot, mode == 1 ? 5 : 4, suppress,
            _iotlb.SpaceOf(Iotlb.Tag(entry.DomainId, pasid)), policy, nested ? entry.SecondLevelRoot : 0, secondStageLevels);
        return FaultReason.None;
    }

    /// <summary>
    /// A first-level translation (VT-d spec 3.6): the request's mode against the PASID entry (5Dh without SRE, 5Ch
    /// without ERE), the walk with its A/D updates, and an IOTLB fill for a user data request. The IOTLB keeps user
    /// rights, and write only once the page is dirty, so a write to a clean page walks and sets D, as a CPU's TLB does;
    /// a privileged or execute request always walks. Results report write permission the same way.
    /// </summary>
    private TranslationResult FirstLevelWalkAndFill(in DmaRequest request, TranslationTarget target, ThreadCounters counters, bool walkProtected)
    {
        counters.IotlbMisses++;
        DmaRequestAttributes attributes = request.Attributes;
        FirstLevelPolicy policy = target.FirstLevel;
        if ((attributes & DmaRequestAttributes.Privileged) != 0 && !policy.SupervisorRequests)
            return Fault(request, FaultReason.SmSupervisorRequestsNotEnabled, target.FaultProcessingDisable, counters);
        if ((attributes & DmaRequestAttributes.Execute) != 0 && !policy.ExecuteRequests)
            return Fault(request, FaultReason.SmExecuteRequestsNotEnabled, target.FaultProcessingDisable, counters);
        long sequence = Volatile.Read(ref _invalidationSequence);
        FirstLevelWalk walk;
        var mode = FirstLevelModeOf(request, policy);
        var stage2 = SecondStageOf(target);
        if (walkProtected)
        {
            walk = _firstLevelWalker.Walk(target.Root, target.Levels, request.Iova, mode, true, stage2);
        }
        else
        {
            using EpochScope scope = _memory.Reclaimer.Protect();
            walk = _firstLevelWalker.Walk(target.Root, target.Levels, request.Iova, mode, true, stage2);
        }
        counters.PageWalks++;
        if (!walk.IsSuccess)
            return Fault(request, FirstLevelFaultReason(walk, request.Access, target.Levels), target.FaultProcessingDisable, counters);
        DmaProtection rights = FirstLevelRights(walk);
        if (attributes == DmaRequestAttributes.None)
            _iotlb.Fill(request.Iova, walk.PageShift, target.Space, walk.PageHpa, rights, ref _invalidationSequence, sequence);
        return new TranslationResult(walk.PageHpa | (request.Iova & ((1UL << walk.PageShift) - 1)), walk.PageShift, rights, FaultReason.None);
    }

    /// <summary>Read, and write once the page is dirty and the mode may write it.</summary>
    private static DmaProtection FirstLevelRights(in FirstLevelWalk walk) =>
        walk.Dirty ? walk.Permissions : walk.Permissions & DmaProtection.Read;

    private static FirstLevelWalker.Mode FirstLevelModeOf(in DmaRequest request, FirstLevelPolicy policy) => new(
        (request.Access & DmaAccess.Write) != 0, (request.Attributes & DmaRequestAttributes.Privileged) != 0,
        (request.Attributes & DmaRequestAttributes.Execute) != 0, policy.WriteProtect, policy.NoExecute, policy.SupervisorExecuteProtect);

    /// <summary>The second stage of a nested target, or none.</summary>
    private FirstLevelWalker.SecondStage SecondStageOf(TranslationTarget target) =>
        target.SecondStageLevels == 0 ? default : new(_walker, target.SecondStageRoot, target.SecondStageLevels);

    /// <summary>The fault of a first-level or nested walk: the first-level reasons, and for nesting 74h-77h where the
    /// second stage fails a first-level table (beyond its width, no read on the FL-PML4 table or another one, no write
    /// for A/D), the second-level reasons where it fails the output.</summary>
    private FaultReason FirstLevelFaultReason(in FirstLevelWalk walk, DmaAccess access, int levels) => walk.Status switch
    {
        FirstLevelWalkStatus.NestedTableFault => walk.SecondStageStatus switch
        {
            WalkStatus.AddressBeyondWidth => FaultReason.SmNestedFirstLevelBeyondWidth,
            WalkStatus.ReservedBitsSet => FaultReason.SmSecondLevelReservedBits,
            WalkStatus.InvalidTablePointer => FaultReason.SmSecondLevelAccessError,
            _ => walk.Level == levels ? FaultReason.SmNestedFirstLevelRootReadDenied : FaultReason.SmNestedFirstLevelReadDenied,
        },
        FirstLevelWalkStatus.NestedTableWriteDenied => FaultReason.SmNestedFirstLevelWriteDenied,
        FirstLevelWalkStatus.NestedOutputFault => WalkFaultReason(walk.SecondStageStatus, access),
        _ => FirstLevelFaultReason(walk.Status),
    };

    private static FaultReason FirstLevelFaultReason(FirstLevelWalkStatus status) => status switch
    {
        FirstLevelWalkStatus.AccessError => FaultReason.SmFirstLevelAccessError,
        FirstLevelWalkStatus.NotPresent => FaultReason.SmFirstLevelNotPresent,
        FirstLevelWalkStatus.ReservedBitsSet => FaultReason.SmFirstLevelReservedBits,
        FirstLevelWalkStatus.NotCanonical => FaultReason.SmNonCanonicalAddress,
        FirstLevelWalkStatus.UserDenied => FaultReason.SmUserAccessDenied,
        FirstLevelWalkStatus.ExecuteDenied => FaultReason.SmNoExecutePermission,
        _ => FaultReason.SmNoWritePermission,
    };
}
