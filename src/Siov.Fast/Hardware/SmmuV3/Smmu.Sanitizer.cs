using System.Runtime.CompilerServices;
using Siov.Fast.Ats;
using Siov.Fast.Concurrency;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;
using static Siov.Fast.Hardware.SmmuV3.SmmuRegisters;

namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>
/// The invalidation sanitizer's side of the SMMU (the same <see cref="InvalidationSanitizer"/> as VT-d's): every
/// translation is also answered from memory alone (STE, CD, walk), and a cached answer that differs after the driver
/// issued an invalidation of that cache since the change names the command that is missing: CMD_TLBI_NH_VA,
/// CMD_TLBI_S2_IPA or CMD_TLBI_NH_ASID for the TLB, CMD_CFGI_STE or CMD_CFGI_CD for the configuration cache, CMD_ATC_INV
/// for a connected function's ATC (<see cref="DeviceTlb"/>), each followed by CMD_SYNC.
/// </summary>
public sealed partial class Smmu : IAtcHitChecker
{
    private InvalidationSanitizer? _sanitizer; // set once, under the register lock; a translation may see it a little late
    private int _fillsInFlight;                // slow paths running, counted only while the sanitizer is on

    /// <summary>The invalidation sanitizer, or null while it is off (the default).</summary>
    public InvalidationSanitizer? Sanitizer => _sanitizer;

    bool IAtcHitChecker.ChecksAtcHits => _sanitizer is not null;

    /// <summary>
    /// Switches the invalidation sanitizer on (and the memory's write log, <see cref="PhysicalMemory.EnableWriteLog"/>): from
    /// now on every translation is also answered from memory, and a cached answer that disagrees after an invalidation of
    /// that cache is reported (<see cref="InvalidationSanitizer"/>): stale TLB entries (<see cref="StaleCache.Iotlb"/>),
    /// stale STEs and CDs in the configuration cache (<see cref="StaleCache.StreamTableEntryCache"/>,
    /// <see cref="StaleCache.ContextDescriptorCache"/>) and stale ATC entries of connected <see cref="DeviceTlb"/>s
    /// (<see cref="StaleCache.DeviceTlb"/>). Comparisons overlapping a command, a memory write or a cache fill are left out
    /// (as are translations that record an event, which writes the event queue), and so is a verdict reached after one: the
    /// write log and the invalidations it weighs must still be those of the compared instant, or a translation that raced
    /// with a change (which the SMMU may answer either way until the CMD_SYNC completes) would look like one that outlived
    /// the change's invalidation. Translations become as slow as walks; it is a checking mode, not for measurements. Nested
    /// (stage 1 over stage 2) configurations are compared but not named.
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

    /// <summary>The sanitizer's key of the TLB entries of (VMID, ASID).</summary>
    private static ulong Stage1Key(ushort vmid, ushort asid) => 1UL << 32 | (uint)vmid << 16 | asid;

    /// <summary>The sanitizer's key of the stage-2-only TLB entries of a VMID.</summary>
    private static ulong Stage2Key(ushort vmid) => 2UL << 32 | vmid;

    private static ulong KeyOf(SmmuTarget target) => target.Stage1 ? Stage1Key(target.Vmid, target.Asid) : Stage2Key(target.Vmid);

    /// <summary>A TLB invalidation ran (for one space, or for many when <paramref name="key"/> is null).</summary>
    private void NoteTlbInvalidation(ulong? key) =>
        _sanitizer?.NoteInvalidation(StaleCache.Iotlb, key, null, _memory.WriteLog?.Sequence ?? 0);

    /// <summary>A configuration cache invalidation ran: of STEs (which takes their CDs along) or of CDs.</summary>
    private void NoteConfigInvalidation(bool streams)
    {
        if (_sanitizer is not { } sanitizer)
            return;
        long writes = _memory.WriteLog?.Sequence ?? 0;
        if (streams)
            sanitizer.NoteInvalidation(StaleCache.StreamTableEntryCache, null, null, writes);
        sanitizer.NoteInvalidation(StaleCache.ContextDescriptorCache, null, null, writes);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private TranslationResult TranslateChecked(in DmaRequest request)
    {
        MemoryWriteLog? log = _memory.WriteLog;
        InvalidationSanitizer? sanitizer = _sanitizer;
        if (sanitizer is null || log is null || !Enabled || request.IsTranslated)
            return TranslateCached(request);
        // The comparison counts only when nothing moved while it ran: no command run (invalidations raise the sequence;
        // a run in progress is counted), no memory write begun or landing, no cache fill in progress.
        long invalidations = Volatile.Read(ref _invalidationSequence);
        bool quiet = log.IsQuiet(out long writes) && Volatile.Read(ref _commandsRunning) == 0 && Volatile.Read(ref _fillsInFlight) == 0;
        TranslationResult cached = TranslateCached(request);
        TranslationResult fresh;
        StreamTableEntry? freshSte;
        SmmuTarget? freshTarget;
        using (EpochScope scope = _memory.Reclaimer.Protect())
            fresh = FreshTranslate(request, out freshSte, out freshTarget);
        if (!quiet || !StillQuiet(log, invalidations, writes))
            return cached;
        sanitizer.Compared();
        if (Agree(cached, fresh))
            return cached;
        SanitizerVerdictHook?.Invoke();
        // The verdict reads the write log and the invalidations noted so far; it holds only while they are still those of
        // the compared instant (VT-d reaches its verdict under the program lock, which no invalidation passes). A command
        // or a write since then (the rest of the driver's change: CMD_CFGI_*, CMD_TLBI_*, the next write) would make a
        // translation that raced with the change, and saw it in flight, look like one that outlived its invalidation.
        // Every note of a TLB or configuration cache invalidation follows a rise of the invalidation sequence in the same
        // queue run, so the same sequence and no run at both ends mean the verdict read the compared instant's notes.
        if (CheckStale(sanitizer, log, request, cached, fresh, freshSte, freshTarget) is { } report && StillQuiet(log, invalidations, writes))
            sanitizer.Report(report);
        return cached;
    }

    /// <summary>Test seam: runs between a comparison that disagreed and its verdict (null in use).</summary>
    internal Action? SanitizerVerdictHook { get; set; }

    private bool StillQuiet(MemoryWriteLog log, long invalidations, long writes) =>
        Volatile.Read(ref _invalidationSequence) == invalidations && Volatile.Read(ref _commandsRunning) == 0
        && Volatile.Read(ref _fillsInFlight) == 0 && log.IsQuiet(out long after) && after == writes;

    private static bool Agree(TranslationResult a, TranslationResult b) =>
        a.IsSuccess == b.IsSuccess && (!a.IsSuccess || (a.Hpa == b.Hpa && a.Permissions == b.Permissions));

    /// <summary>What the SMMU would answer with every cache empty: the STE, the CD and the walk, read from memory now;
    /// nothing is cached, counted or recorded.</summary>
    private TranslationResult FreshTranslate(in DmaRequest request, out StreamTableEntry? ste, out SmmuTarget? target)
    {
        ste = null;
        target = null;
        SmmuEventType problem = ReadSte(request.RequesterId, out StreamTableEntry e, out _);
        if (problem != SmmuEventType.None)
            return TranslationResult.Faulted((FaultReason)problem);
        ste = e;
        problem = TargetOf(e, request, out target, out _, out _);
        if (target is null)
            return TranslationResult.Faulted((FaultReason)problem);
        if (target.Bypass)
            return new TranslationResult(request.Iova, 12, DmaProtection.ReadWrite, FaultReason.None);
        LpaeWalk walk = Walk(target, request, AccessOf(request));
        return walk.IsSuccess
            ? new TranslationResult(walk.OutputPage | (request.Iova & ((1UL << walk.PageShift) - 1)), walk.PageShift, walk.Permissions, FaultReason.None)
            : TranslationResult.Faulted((FaultReason)EventOfWalk(walk.Status));
    }

    /// <summary>Works out which cache held the stale state and which entry changed; the report, when an invalidation of
    /// that cache (for the TLB: of the same space) has run since the change, else null.</summary>
    private StaleTranslationReport? CheckStale(InvalidationSanitizer sanitizer, MemoryWriteLog log, in DmaRequest request, TranslationResult cached,
        TranslationResult fresh, StreamTableEntry? freshSte, SmmuTarget? freshTarget)
    {
        uint sid = request.RequesterId;
        SmmuStreamCache? stream = sid < (uint)_streams.Length ? Volatile.Read(ref _streams[sid]) : null;
        if (stream is null)
            return null; // answered from memory
        SmmuTarget? cachedTarget = stream.Lookup(request.HasPasid ? request.Pasid : NoSubstreamKey);
        uint ssid = request.HasPasid ? request.Pasid : 0;
        ulong page = request.Iova & ~0xFFFUL;
        Span<ulong> path = stackalloc ulong[16];
        int entries = 0;
        StaleCache cache;
        string kind, missing;
        if (freshSte is null || stream.Ste != freshSte.Value)
        {
            cache = StaleCache.StreamTableEntryCache;
            kind = "STE";
            entries = StePath(sid, path);
            missing = $"CMD_CFGI_STE SID 0x{sid:x}, CMD_SYNC";
        }
        else if (cachedTarget is { Stage1: true } && (freshTarget is null || !freshTarget.Stage1 || cachedTarget.Cd != freshTarget.Cd))
        {
            cache = StaleCache.ContextDescriptorCache;
            kind = "CD";
            entries = CdPath(stream.Ste, ssid, path);
            missing = $"CMD_CFGI_CD SID 0x{sid:x} SSID {ssid}, CMD_SYNC";
        }
        else if (cachedTarget is { Bypass: false } && !(cachedTarget.Stage1 && cachedTarget.Stage2))
        {
            cache = StaleCache.Iotlb;
            int cd = cachedTarget.Stage1 ? CdPath(stream.Ste, ssid, path) : 0;
            int walk = WalkPath(cachedTarget.Stage1 ? cachedTarget.S1 : cachedTarget.S2, request.Iova, path[cd..]);
            entries = cd + walk;
            MemoryWrite? inTable = log.LastWrite(path.Slice(cd, walk)), inCd = log.LastWrite(path[..cd]);
            bool tableChanged = inTable is MemoryWrite t && (inCd is not MemoryWrite c || t.Sequence > c.Sequence);
            kind = cachedTarget.Stage1 ? (tableChanged ? "stage 1 descriptor" : "CD") : "stage 2 descriptor";
            missing = !cachedTarget.Stage1 ? $"CMD_TLBI_S2_IPA VMID {cachedTarget.Vmid} Addr 0x{page:x}, CMD_SYNC"
                : tableChanged ? $"CMD_TLBI_NH_VA VMID {cachedTarget.Vmid} ASID {cachedTarget.Asid} Addr 0x{page:x}, CMD_SYNC"
                : $"CMD_TLBI_NH_ASID VMID {cachedTarget.Vmid} ASID {cachedTarget.Asid}, CMD_SYNC";
        }
        else
        {
            return null;
        }
        MemoryWrite? changed = log.LastWrite(path[..entries]);
        // No logged change: nothing to name. No invalidation of that cache since the change: still in flight.
        ulong key = cachedTarget is { Bypass: false } ? KeyOf(cachedTarget) : 0;
        if (changed is not MemoryWrite w || !sanitizer.InvalidatedSince(cache, w.Sequence, key))
            return null;
        return new StaleTranslationReport(request, cached, fresh, cache, DomainOf(cachedTarget), request.HasPasid ? request.Pasid : null,
            changed, missing) { EntryKind = kind };
    }

    private static ushort DomainOf(SmmuTarget? target) => target is null ? (ushort)0 : target.Stage1 ? target.Asid : target.Vmid;

    /// <summary>
    /// The sanitizer's look at a function's ATC hit (<see cref="DeviceTlb"/> hands it over while the sanitizer is on): the
    /// ATC's translation is stale when memory now gives none, another address, or fewer rights. It is reported when the
    /// entry that changed (the STE, the CD, or a descriptor of the walk) was followed by the driver's invalidation of the
    /// SMMU's own cache for it (CMD_CFGI_STE, CMD_CFGI_CD, or a TLB invalidation of that space) and no CMD_ATC_INV reached
    /// the function since the change. Inconclusive comparisons are left out, as for the SMMU's own caches.
    /// </summary>
    void IAtcHitChecker.CheckAtcHit(in DmaRequest request, TranslationResult cached)
    {
        MemoryWriteLog? log = _memory.WriteLog;
        InvalidationSanitizer? sanitizer = _sanitizer;
        if (sanitizer is null || log is null || !Enabled)
            return;
        long invalidations = Volatile.Read(ref _invalidationSequence);
        if (!log.IsQuiet(out long writes) || Volatile.Read(ref _commandsRunning) != 0 || Volatile.Read(ref _fillsInFlight) != 0)
            return;
        TranslationResult fresh;
        StreamTableEntry? freshSte;
        SmmuTarget? freshTarget;
        using (EpochScope scope = _memory.Reclaimer.Protect())
            fresh = FreshTranslate(request, out freshSte, out freshTarget);
        if (!StillQuiet(log, invalidations, writes))
            return;
        sanitizer.Compared();
        if (!cached.IsSuccess || (fresh.IsSuccess && fresh.Hpa == cached.Hpa && (cached.Permissions & ~fresh.Permissions) == 0))
            return;
        SanitizerVerdictHook?.Invoke();
        uint sid = request.RequesterId;
        uint ssid = request.HasPasid ? request.Pasid : 0;
        SmmuTarget? target = freshTarget
            ?? (sid < (uint)_streams.Length ? Volatile.Read(ref _streams[sid])?.Lookup(request.HasPasid ? request.Pasid : NoSubstreamKey) : null);
        // The latest change among the STE, the CD and the walk's descriptors, and the SMMU invalidation it needed.
        Span<ulong> path = stackalloc ulong[16];
        MemoryWrite? inSte = log.LastWrite(path[..StePath(sid, path)]);
        MemoryWrite? inCd = freshSte is { Stage1: true } ste ? log.LastWrite(path[..CdPath(ste, ssid, path)]) : null;
        MemoryWrite? inTable = target is { Bypass: false } && !(target.Stage1 && target.Stage2)
            ? log.LastWrite(path[..WalkPath(target.Stage1 ? target.S1 : target.S2, request.Iova, path)]) : null;
        (MemoryWrite? changed, StaleCache cache, string kind) = Latest(
            (inSte, StaleCache.StreamTableEntryCache, "STE"), (inCd, StaleCache.ContextDescriptorCache, "CD"),
            (inTable, StaleCache.Iotlb, target is { Stage1: true } ? "stage 1 descriptor" : "stage 2 descriptor"));
        ulong key = target is { Bypass: false } ? KeyOf(target) : 0;
        if (changed is not MemoryWrite w || !sanitizer.InvalidatedSince(cache, w.Sequence, key) || sanitizer.DeviceTlbInvalidatedSince((ushort)sid, w.Sequence))
            return;
        if (!StillQuiet(log, invalidations, writes))
            return; // the verdict read a later state than the one compared (see TranslateChecked)
        ulong page = request.Iova & ~0xFFFUL;
        string missing = $"CMD_ATC_INV SID 0x{sid:x}{(request.HasPasid ? $" SSV SSID {request.Pasid}" : "")} Addr 0x{page:x} Size 0, CMD_SYNC";
        sanitizer.Report(new StaleTranslationReport(request, cached, fresh, StaleCache.DeviceTlb, DomainOf(target),
            request.HasPasid ? request.Pasid : null, changed, missing) { EntryKind = kind });
    }

    private static (MemoryWrite?, StaleCache, string) Latest(params ReadOnlySpan<(MemoryWrite? Write, StaleCache Cache, string Kind)> candidates)
    {
        (MemoryWrite?, StaleCache, string) best = (null, StaleCache.Iotlb, "");
        foreach ((MemoryWrite? write, StaleCache cache, string kind) in candidates)
        {
            if (write is MemoryWrite w && (best.Item1 is not MemoryWrite b || w.Sequence > b.Sequence))
                best = (w, cache, kind);
        }
        return best;
    }

    /// <summary>The level-1 descriptor (2-level tables) and the four modelled words of the STE of <paramref name="sid"/>.</summary>
    private int StePath(uint sid, Span<ulong> path)
    {
        int entries = 0;
        ulong table = _strtabBase & StrtabBaseFields.Address.Mask;
        ulong at;
        if (StrtabBaseCfgFields.Format.Get(_strtabBaseCfg) == 1)
        {
            int split = (int)StrtabBaseCfgFields.Split.Get(_strtabBaseCfg);
            ulong l1 = table + (ulong)(sid >> split) * 8;
            if (!_memory.Contains(l1, 8))
                return 0;
            path[entries++] = l1;
            at = (_memory.ReadUInt64(l1) & StrtabBaseFields.Address.Mask) + (sid & ((1u << split) - 1)) * (ulong)StreamTableEntry.Size;
        }
        else
        {
            at = table + sid * (ulong)StreamTableEntry.Size;
        }
        if (!_memory.Contains(at, 32))
            return entries;
        for (ulong word = 0; word < 4; word++)
            path[entries++] = at + word * 8;
        return entries;
    }

    /// <summary>The level-1 CD descriptor (2-level CD tables) and the two modelled words of the CD of <paramref name="ssid"/>;
    /// nothing for nested configurations (the CD table is at IPAs).</summary>
    private int CdPath(in StreamTableEntry ste, uint ssid, Span<ulong> path)
    {
        if (!ste.Stage1 || ste.Stage2)
            return 0;
        int entries = 0;
        ulong at;
        if (ste.S1Format == 0)
        {
            at = ste.S1ContextPointer + ssid * (ulong)ContextDescriptor.Size;
        }
        else
        {
            int leafBits = ste.S1Format == 1 ? 8 : 10;
            ulong l1 = ste.S1ContextPointer + (ulong)(ssid >> leafBits) * 8;
            if (!_memory.Contains(l1, 8))
                return 0;
            path[entries++] = l1;
            at = (_memory.ReadUInt64(l1) & 0x000F_FFFF_FFFF_F000UL) + (ssid & ((1u << leafBits) - 1)) * (ulong)ContextDescriptor.Size;
        }
        if (!_memory.Contains(at, 16))
            return entries;
        path[entries++] = at;
        path[entries++] = at + 8;
        return entries;
    }

    /// <summary>The descriptors a walk of one stage reads for <paramref name="input"/>: each level's, down to the leaf or the
    /// first invalid one.</summary>
    private int WalkPath(in LpaeStage stage, ulong input, Span<ulong> path)
    {
        int inputBits = stage.InputBits;
        if (inputBits < 64 && (input >> inputBits) != 0)
            return 0;
        int entries = 0;
        ulong table = stage.TableBase;
        for (int level = stage.StartLevel; level <= 3 && entries < path.Length; level++)
        {
            int shift = 12 + 9 * (3 - level);
            ulong index = level == stage.StartLevel ? (input & ((1UL << inputBits) - 1)) >> shift : (input >> shift) & 511;
            ulong at = table + index * 8;
            if (!_memory.Contains(at, 8))
                break;
            path[entries++] = at;
            ulong entry = _memory.ReadUInt64(at);
            if (!LpaeEntry.Valid.IsSet(entry) || level == 3 || !LpaeEntry.TableOrPage.IsSet(entry))
                break;
            table = entry & LpaeEntry.AddressMask;
        }
        return entries;
    }
}
