using System.Runtime.CompilerServices;
using Siov.Fast.Caching;
using Siov.Fast.Concurrency;
using Siov.Fast.PageTables;
using static Siov.Fast.Hardware.SmmuV3.SmmuRegisters;

namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>Translation (Arm IHI 0070, chapter 3): configuration lookup (stream table, CD table), the TLB, the walks.</summary>
public sealed partial class Smmu
{
    private const uint NoSubstreamKey = SmmuStreamCache.NoSubstream;

    /// <summary>
    /// Translates one transaction: StreamID = <see cref="DmaRequest.RequesterId"/>, SubstreamID = the PASID, PnU = privileged,
    /// InD = execute. While SMMUEN is clear, GBPA decides (abort, or bypass). Otherwise the STE (and for stage 1 the CD)
    /// from the configuration cache or memory, the TLB, or a walk; a fault returns the EventID and records the event.
    /// Never throws.
    /// </summary>
    /// <param name="request">The transaction.</param>
    /// <returns>The physical address or the fault.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TranslationResult Translate(in DmaRequest request) =>
        _sanitizer is null ? TranslateCached(request) : TranslateChecked(request);

    /// <summary>The translation from the caches (a TLB hit takes no lock), or the slow path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private TranslationResult TranslateCached(in DmaRequest request)
    {
        SmmuStreamCache? stream = Volatile.Read(ref _streams[request.RequesterId & (_streams.Length - 1)]);
        SmmuTarget? target = null;
        if (stream != null && request.RequesterId < _streams.Length)
            target = stream.Lookup(request.HasPasid ? request.Pasid : NoSubstreamKey);
        if (target != null && request.IsPlain && !target.Bypass
            && _tlb.TryTranslate(request.Iova, target.Space, request.Access, out TranslationResult hit))
            return hit;
        return TranslateSlow(request, target);
    }

    /// <summary>Translates a batch as <see cref="Translate(in DmaRequest)"/> does each request: results in the same order,
    /// faults where a request was not granted. TLB hits are pipelined (each request's set located and prefetched 16
    /// requests ahead); misses take the single path.</summary>
    /// <param name="requests">The transactions.</param>
    /// <param name="results">At least as long as <paramref name="requests"/>.</param>
    /// <exception cref="IommuException">EINVAL when <paramref name="results"/> is shorter (nothing is translated).</exception>
    public void Translate(ReadOnlySpan<DmaRequest> requests, Span<TranslationResult> results)
    {
        if (results.Length < requests.Length)
            Throw.Iommu(Errno.EINVAL, $"{results.Length} results for {requests.Length} requests");
        if (_sanitizer is not null)
        {
            // Checking mode: every request is compared with memory, one at a time.
            for (int i = 0; i < requests.Length; i++)
                results[i] = TranslateChecked(requests[i]);
            return;
        }
        IotlbPipeline.Translate(_tlb, requests, results[..requests.Length], new Spaces(this), _slowPath);
    }

    /// <summary>A transaction's cached TLB space for the pipeline: none without a cached translating target.</summary>
    private readonly struct Spaces(Smmu smmu) : ISpaceResolver
    {
        public bool TryGetSpace(in DmaRequest request, out IotlbSpace space)
        {
            SmmuStreamCache? stream = Volatile.Read(ref smmu._streams[request.RequesterId & (smmu._streams.Length - 1)]);
            if (stream != null && request.IsPlain && request.RequesterId < smmu._streams.Length
                && stream.Lookup(request.HasPasid ? request.Pasid : NoSubstreamKey) is { Bypass: false } target)
            {
                space = target.Space;
                return true;
            }
            space = default;
            return false;
        }
    }

    private TranslationResult SlowPath(in DmaRequest request) => TranslateCached(request);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private TranslationResult TranslateSlow(in DmaRequest request, SmmuTarget? target)
    {
        if (!Enabled)
        {
            return GbpaFields.Abort.IsSet(_gbpa)
                ? TranslationResult.Faulted((Hardware.Vtd.FaultReason)AbortWithoutEvent)
                : new TranslationResult(request.Iova, 12, DmaProtection.ReadWrite, Hardware.Vtd.FaultReason.None);
        }
        if (request.IsTranslated)
            return TranslatedTransaction(request);
        if (_sanitizer is null)
            return ResolveWalkAndFill(request, target);
        // With the sanitizer on, a fill in progress makes every comparison inconclusive (a racing fill may install an
        // entry from an older reading for the moment before it takes it back).
        Interlocked.Increment(ref _fillsInFlight);
        try
        {
            return ResolveWalkAndFill(request, target);
        }
        finally
        {
            Interlocked.Decrement(ref _fillsInFlight);
        }
    }

    private TranslationResult ResolveWalkAndFill(in DmaRequest request, SmmuTarget? target)
    {
        long sequence = Volatile.Read(ref _invalidationSequence);
        using EpochScope scope = _memory.Reclaimer.Protect();
        if (target == null)
        {
            SmmuEventType problem = ResolveTarget(request, sequence, out target, out ulong fetchAddress);
            if (target == null)
            {
                if (problem == (SmmuEventType)AbortWithoutEvent)
                    return TranslationResult.Faulted((Hardware.Vtd.FaultReason)AbortWithoutEvent);
                RecordEvent(ConfigEvent(problem, request, fetchAddress));
                return TranslationResult.Faulted((Hardware.Vtd.FaultReason)problem);
            }
        }
        if (target.Bypass)
            return new TranslationResult(request.Iova, 12, DmaProtection.ReadWrite, Hardware.Vtd.FaultReason.None);
        LpaeWalk walk = Walk(target, request, AccessOf(request));
        if (!walk.IsSuccess)
        {
            SmmuEventType type = EventOfWalk(walk.Status);
            RecordEvent(TranslationEvent(type, request, walk));
            return TranslationResult.Faulted((Hardware.Vtd.FaultReason)type);
        }
        if (request.Attributes == DmaRequestAttributes.None)
            _tlb.Fill(request.Iova, walk.PageShift, target.Space, walk.OutputPage, walk.Permissions, ref _invalidationSequence, sequence);
        return new TranslationResult(walk.OutputPage | (request.Iova & ((1UL << walk.PageShift) - 1)), walk.PageShift, walk.Permissions,
            Hardware.Vtd.FaultReason.None);
    }

    private static LpaeWalker.Access AccessOf(in DmaRequest request) => new((request.Access & DmaAccess.Write) != 0,
        (request.Attributes & DmaRequestAttributes.Privileged) != 0, (request.Attributes & DmaRequestAttributes.Execute) != 0);

    /// <summary>The walk of a translating target's tables: stage 1 (nested under stage 2 when both are on) or stage 2.</summary>
    private LpaeWalk Walk(SmmuTarget target, in DmaRequest request, LpaeWalker.Access access) => target.Stage1
        ? _walker.WalkStage1(target.S1, request.Iova, access, target.S2, nested: target.Stage2)
        : _walker.WalkStage2(target.S2, request.Iova, access.Write, access.Execute);

    /// <summary>The event of a walk that did not translate.</summary>
    private static SmmuEventType EventOfWalk(LpaeWalkStatus status) => status switch
    {
        LpaeWalkStatus.AddressSize => SmmuEventType.AddressSize,
        LpaeWalkStatus.AccessFlag => SmmuEventType.Access,
        LpaeWalkStatus.Permission => SmmuEventType.Permission,
        LpaeWalkStatus.ExternalAbort => SmmuEventType.WalkExternalAbort,
        _ => SmmuEventType.Translation,
    };

    /// <summary>The configuration of the transaction's (StreamID, SubstreamID), from the caches or memory (then cached).</summary>
    private SmmuEventType ResolveTarget(in DmaRequest request, long sequence, out SmmuTarget? target, out ulong fetchAddress)
    {
        target = null;
        SmmuEventType steProblem = ResolveStream(request.RequesterId, sequence, out SmmuStreamCache? stream, out fetchAddress);
        if (stream == null)
            return steProblem;
        SmmuEventType problem = TargetOf(stream.Ste, request, out SmmuTarget? resolved, out uint key, out fetchAddress);
        if (resolved != null)
            target = CacheTarget(stream, key, resolved, sequence);
        return problem;
    }

    /// <summary>The configuration cache entry of a StreamID, or its STE read from memory (then cached).</summary>
    private SmmuEventType ResolveStream(uint sid, long sequence, out SmmuStreamCache? stream, out ulong fetchAddress)
    {
        fetchAddress = 0;
        stream = sid < (uint)_streams.Length ? Volatile.Read(ref _streams[sid]) : null;
        if (stream != null)
            return SmmuEventType.None;
        SmmuEventType steProblem = ReadSte(sid, out StreamTableEntry ste, out fetchAddress);
        if (steProblem != SmmuEventType.None)
            return steProblem;
        stream = new SmmuStreamCache(ste);
        Install(ref _streams[sid], stream, sequence);
        return SmmuEventType.None;
    }

    /// <summary>
    /// What an STE (and for stage 1 the CD it selects, read from memory) says for the transaction's SubstreamID: the target
    /// and its configuration cache key, or the event. Caches nothing and records nothing.
    /// </summary>
    private SmmuEventType TargetOf(in StreamTableEntry e, in DmaRequest request, out SmmuTarget? target, out uint key, out ulong fetchAddress)
    {
        target = null;
        key = NoSubstreamKey;
        fetchAddress = 0;
        if (e.Config == StreamTableEntry.ConfigAbort)
            return (SmmuEventType)AbortWithoutEvent;
        if (e.Config == StreamTableEntry.ConfigBypass)
        {
            if (request.HasPasid)
                return SmmuEventType.BadSubstreamId;
            target = new SmmuTarget(true, false, false, default, default, 0, 0, default);
            return SmmuEventType.None;
        }
        LpaeStage s2 = e.Stage2 ? Stage2Of(e) : default;
        ushort vmid = e.Stage2 ? e.Vmid : (ushort)0;
        if (!e.Stage1)
        {
            if (request.HasPasid)
                return SmmuEventType.BadSubstreamId;
            target = new SmmuTarget(false, false, true, default, s2, vmid, 0, _tlb.SpaceOf(Stage2Tag(vmid)));
            return SmmuEventType.None;
        }
        uint ssid;
        if (request.HasPasid)
        {
            if (e.S1CdMax == 0 || request.Pasid >= 1u << e.S1CdMax)
                return SmmuEventType.BadSubstreamId;
            ssid = request.Pasid;
        }
        else if (e.S1CdMax != 0)
        {
            switch (e.S1DefaultSubstream)
            {
                case 0:
                    return SmmuEventType.StreamDisabled;
                case 1: // stage 1 bypassed: stage 2 alone, or nothing
                    target = e.Stage2
                        ? new SmmuTarget(false, false, true, default, s2, vmid, 0, _tlb.SpaceOf(Stage2Tag(vmid)))
                        : new SmmuTarget(true, false, false, default, default, 0, 0, default);
                    return SmmuEventType.None;
                case 2:
                    ssid = 0;
                    break;
                default:
                    return SmmuEventType.BadSte;
            }
        }
        else
        {
            ssid = 0;
        }
        SmmuEventType cdProblem = ReadCd(e, ssid, s2, out ContextDescriptor cd, out fetchAddress);
        if (cdProblem != SmmuEventType.None)
            return cdProblem;
        int ipsBits = Math.Min(Idr5Fields.Bits((int)ContextDescriptor.IpsField.Get(cd.Word0)), _outputBits);
        var s1 = new LpaeStage(cd.Ttb0, cd.InputBits, LpaeStage.StartLevelFor(cd.InputBits), e.Stage2 ? 48 : ipsBits,
            ContextDescriptor.AffdField.IsSet(cd.Word0));
        target = new SmmuTarget(false, true, e.Stage2, s1, s2, vmid, cd.Asid, _tlb.SpaceOf(Stage1Tag(vmid, cd.Asid)), cd);
        key = request.HasPasid ? ssid : NoSubstreamKey;
        return SmmuEventType.None;
    }

    /// <summary>The TLB tag of stage 1 entries of (VMID, ASID): the pair itself in the tag's low word (unique), and a mix
    /// of both in its high half, which the TLB spreads sets by, so that the same page of many ASIDs does not fight over
    /// one 3-way set. Invalidations by ASID name the same tag; those by VMID alone drop every entry.</summary>
    private static ulong Stage1Tag(ushort vmid, ushort asid) =>
        Iotlb.Tag((ushort)(asid * 0x9E37 ^ vmid), (uint)vmid << 16 | asid);

    /// <summary>The TLB tag of stage-2-only entries of a VMID.</summary>
    private static ulong Stage2Tag(ushort vmid) => Iotlb.Tag(vmid, Iotlb.NoPasid);

    /// <summary>Reads and checks the STE of <paramref name="sid"/> (linear or 2-level stream table).</summary>
    private SmmuEventType ReadSte(uint sid, out StreamTableEntry ste, out ulong fetchAddress)
    {
        ste = default;
        fetchAddress = 0;
        int log2Size = (int)StrtabBaseCfgFields.Log2Size.Get(_strtabBaseCfg);
        if (log2Size < 32 && sid >> Math.Min(log2Size, StreamIdBits) != 0)
            return SmmuEventType.BadStreamId;
        ulong table = _strtabBase & StrtabBaseFields.Address.Mask;
        ulong at;
        if (StrtabBaseCfgFields.Format.Get(_strtabBaseCfg) == 1)
        {
            int split = (int)StrtabBaseCfgFields.Split.Get(_strtabBaseCfg);
            ulong l1 = table + (ulong)(sid >> split) * 8;
            if (!_memory.Contains(l1, 8))
            {
                fetchAddress = l1;
                return SmmuEventType.SteFetch;
            }
            ulong descriptor = _memory.ReadUInt64(l1);
            int span = (int)(descriptor & 0x1F);
            uint low = sid & ((1u << split) - 1);
            if (span == 0 || low >= 1u << (span - 1))
                return SmmuEventType.BadStreamId;
            at = (descriptor & StrtabBaseFields.Address.Mask) + low * StreamTableEntry.Size;
        }
        else
        {
            at = table + sid * (ulong)StreamTableEntry.Size;
        }
        fetchAddress = at;
        if (!_memory.Contains(at, StreamTableEntry.Size))
            return SmmuEventType.SteFetch;
        ste = new StreamTableEntry(_memory.ReadUInt64(at), _memory.ReadUInt64(at + 8), _memory.ReadUInt64(at + 16), _memory.ReadUInt64(at + 24));
        if (!ste.IsValid || ste.Config is > 0 and < StreamTableEntry.ConfigBypass)
            return SmmuEventType.BadSte;
        if ((ste.Stage1 && !SupportsStage1) || (ste.Stage2 && !SupportsStage2))
            return SmmuEventType.BadSte;
        if (ste.Stage1 && (ste.S1CdMax > SubstreamIdBits || ste.S1Format == 3))
            return SmmuEventType.BadSte;
        if (ste.Stage2)
        {
            int inputBits = 64 - (int)StreamTableEntry.S2T0SzField.Get(ste.Word2);
            int sl0 = (int)StreamTableEntry.S2Sl0Field.Get(ste.Word2);
            int start = 2 - sl0;
            // The start level must cover the IPA size, with at most 16 concatenated tables (4 extra bits).
            int covered = 12 + 9 * (4 - start);
            if (!StreamTableEntry.S2AArch64Field.IsSet(ste.Word2) || StreamTableEntry.S2TgField.Get(ste.Word2) != 0 || sl0 == 3
                || inputBits is < 25 or > 48 || inputBits > covered + 4 || inputBits <= covered - 9)
                return SmmuEventType.BadSte;
        }
        return SmmuEventType.None;
    }

    private LpaeStage Stage2Of(StreamTableEntry ste)
    {
        int inputBits = 64 - (int)StreamTableEntry.S2T0SzField.Get(ste.Word2);
        int outputBits = Math.Min(Idr5Fields.Bits((int)StreamTableEntry.S2PsField.Get(ste.Word2)), _outputBits);
        return new LpaeStage(ste.S2Ttb, inputBits, 2 - (int)StreamTableEntry.S2Sl0Field.Get(ste.Word2), outputBits,
            StreamTableEntry.S2AffdField.IsSet(ste.Word2));
    }

    /// <summary>Reads and checks the CD of <paramref name="ssid"/> (linear or 2-level CD table; for nesting the table
    /// addresses are IPAs that stage 2 translates).</summary>
    private SmmuEventType ReadCd(StreamTableEntry ste, uint ssid, in LpaeStage s2, out ContextDescriptor cd, out ulong fetchAddress)
    {
        cd = default;
        ulong at;
        if (ste.S1Format == 0)
        {
            at = ste.S1ContextPointer + ssid * (ulong)ContextDescriptor.Size;
        }
        else
        {
            int leafBits = ste.S1Format == 1 ? 8 : 10;
            ulong l1 = ste.S1ContextPointer + (ulong)(ssid >> leafBits) * 8;
            if (!Fetchable(ste, s2, ref l1, 8))
            {
                fetchAddress = l1;
                return SmmuEventType.CdFetch;
            }
            ulong descriptor = _memory.ReadUInt64(l1);
            if ((descriptor & 1) == 0)
            {
                fetchAddress = 0;
                return SmmuEventType.BadSubstreamId;
            }
            at = (descriptor & 0x000F_FFFF_FFFF_F000UL) + (ssid & ((1u << leafBits) - 1)) * (ulong)ContextDescriptor.Size;
        }
        fetchAddress = at;
        if (!Fetchable(ste, s2, ref at, ContextDescriptor.Size))
            return SmmuEventType.CdFetch;
        fetchAddress = at;
        cd = new ContextDescriptor(_memory.ReadUInt64(at), _memory.ReadUInt64(at + 8));
        int inputBits = cd.InputBits;
        if (!cd.IsValid || !ContextDescriptor.AArch64Field.IsSet(cd.Word0) || ContextDescriptor.Tg0Field.Get(cd.Word0) != 0
            || inputBits is < 25 or > 48 || ContextDescriptor.Epd0Field.IsSet(cd.Word0))
            return SmmuEventType.BadCd;
        return SmmuEventType.None;
    }

    /// <summary>Whether <paramref name="length"/> bytes at <paramref name="address"/> can be read; for nesting the address is
    /// an IPA, replaced by its physical address.</summary>
    private bool Fetchable(StreamTableEntry ste, in LpaeStage s2, ref ulong address, int length)
    {
        if (ste.Stage2)
        {
            LpaeWalk walk = _walker.WalkStage2(s2, address, write: false, execute: false);
            if (!walk.IsSuccess)
                return false;
            address = walk.OutputPage | (address & ((1UL << walk.PageShift) - 1));
        }
        return _memory.Contains(address, (ulong)length);
    }

    private SmmuTarget CacheTarget(SmmuStreamCache stream, uint key, SmmuTarget target, long sequence)
    {
        if (stream.TryAdd(key, target) && Volatile.Read(ref _invalidationSequence) != sequence)
            stream.Remove(key, target); // an invalidation raced with the read
        return target;
    }

    private void Install(ref SmmuStreamCache? slot, SmmuStreamCache stream, long sequence)
    {
        if (Interlocked.CompareExchange(ref slot, stream, null) == null && Volatile.Read(ref _invalidationSequence) != sequence)
            Interlocked.CompareExchange(ref slot, null, stream);
    }
}
