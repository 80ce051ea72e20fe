using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Siov.Fast.Caching;
using Siov.Fast.Hardware.Vtd;

namespace Siov.Fast.Ats;

/// <summary>
/// A function's address translation cache (ATC, the device-TLB) that a device model owns: set-associative (the
/// <see cref="Iotlb"/> structure: 3-way sets, 4 KiB / 2 MiB / 1 GiB entries), tagged by PASID, filled from ATS
/// translation completions of a translation agent, emptied by the agent's invalidation requests.
/// </summary>
/// <remarks>
/// <para><b>Reads</b> (<see cref="TryTranslate"/>, and the hit of <see cref="Translate(in DmaRequest, out TranslationResult)"/>) follow the IOTLB's contract: no
/// lock, no interlocked operation, no allocation; a set a writer holds reads as a miss. Entries hold user-mode R and W, so
/// privileged and execute requests always ask the agent.</para>
/// <para><b>Invalidation</b> (<see cref="OnInvalidationRequest"/>) raises the ATC's sequence number before it drops
/// entries; a fill whose translation request was sent before that is dropped, so once a request is answered no later
/// translation returns what it removed. The answer follows <see cref="Answers"/>.</para>
/// <para>The DMA that follows a hit is a translated request (<see cref="DmaRequest.Translated"/>) that the unit lets
/// through without a walk when the context entry (VT-d) or the STE (SMMUv3, EATS) allows ATS; <see cref="Translate(in DmaRequest, out TranslationResult)"/> returns the translated address for it.</para>
/// </remarks>
public sealed class DeviceTlb : IAtsEndpoint, IDisposable
{
    private readonly IAtsTranslationAgent _agent;
    private readonly IAtcHitChecker? _checker; // the agent's invalidation sanitizer, which checks hits
    private readonly Iotlb _cache;
    private readonly IotlbSpace _noPasid;
    // PASID -> its cache space, in rows of 64 PASIDs made on first use ([PASID 19:6][PASID 5:0]): two loads, no lock.
    private readonly StrongBox<IotlbSpace>?[]?[] _pasidSpaces = new StrongBox<IotlbSpace>?[]?[1 << 14];
    private readonly ConcurrentBag<uint> _pasids = [];
    private readonly Lock _spacesLock = new();
    private readonly IotlbPipeline.SlowPath _slowPath;
    private readonly ConcurrentQueue<AtsInvalidationRequest> _pending = new();
    private long _sequence;
    private long _misses, _translationRequests, _invalidationRequests;

    /// <summary>Creates an empty ATC for the function <paramref name="requesterId"/> and connects it to the agent.</summary>
    /// <param name="agent">The translation agent (the unit the function sits behind).</param>
    /// <param name="requesterId">The function's requester id.</param>
    /// <param name="capacity">Entries wanted, at least 3 (rounded up to a power-of-two number of 3-way sets). Default 4,096.</param>
    /// <param name="path">The set probe; <see cref="IotlbProbePath.Auto"/> picks the widest accelerated one.</param>
    /// <exception cref="IommuException">EINVAL for a capacity outside 3 to 2^26; EEXIST when the agent already has an
    /// endpoint for the requester id.</exception>
    public DeviceTlb(IAtsTranslationAgent agent, ushort requesterId, int capacity = 4096, IotlbProbePath path = IotlbProbePath.Auto)
    {
        ArgumentNullException.ThrowIfNull(agent);
        _agent = agent;
        _checker = agent as IAtcHitChecker;
        _slowPath = SlowPath;
        RequesterId = requesterId;
        _cache = new Iotlb(capacity, path);
        _noPasid = _cache.SpaceOf(Iotlb.Tag(SpaceDomain(null), Iotlb.NoPasid));
        try
        {
            agent.ConnectAtsEndpoint(requesterId, this);
        }
        catch
        {
            _cache.Dispose();
            throw;
        }
    }

    /// <summary>The function's requester id.</summary>
    public ushort RequesterId { get; }

    /// <summary>Entries the ATC holds.</summary>
    public int Capacity => _cache.Capacity;

    /// <summary>When invalidation requests are answered. Default <see cref="DeviceTlbAnswers.Immediately"/>.</summary>
    public DeviceTlbAnswers Answers { get; set; } = DeviceTlbAnswers.Immediately;

    /// <summary>Translations that missed the ATC.</summary>
    public long Misses => Volatile.Read(ref _misses);

    /// <summary>Translation requests sent to the agent.</summary>
    public long TranslationRequests => Volatile.Read(ref _translationRequests);

    /// <summary>Invalidation requests received.</summary>
    public long InvalidationRequests => Volatile.Read(ref _invalidationRequests);

    /// <summary>Valid entries (a diagnostic scan).</summary>
    public int Count => _cache.CountValid();

    /// <summary>Invalidation requests received and not answered yet (<see cref="DeviceTlbAnswers.Deferred"/> or
    /// <see cref="DeviceTlbAnswers.Never"/>), oldest first.</summary>
    public IReadOnlyList<AtsInvalidationRequest> PendingInvalidations => [.. _pending.Where(r => !r.IsCompleted)];

    /// <summary>Raised for every page group response the agent sends (PRI); the device model retries or gives up.</summary>
    public event EventHandler<PageGroupResponse>? PageGroupResponseReceived;

    /// <summary>Looks the request up in the ATC only: on a hit whose permissions cover the access, the translated
    /// address with the entry's page size and permissions. Lock-free, allocation-free.</summary>
    /// <param name="request">The request (its requester id is ignored: the ATC is the function's).</param>
    /// <param name="result">The translation on true.</param>
    /// <returns>True on a hit that permits the access; false on a miss, a denied access, or a privileged or execute request.</returns>
    public bool TryTranslate(in DmaRequest request, out TranslationResult result)
    {
        if (request.Attributes != DmaRequestAttributes.None || !TryGetSpace(request, out IotlbSpace space))
        {
            result = default;
            return false;
        }
        return _cache.TryTranslate(request.Iova, space, request.Access, out result);
    }

    /// <summary>
    /// Translates as the function's DMA engine does: from the ATC, or on a miss with a translation request to the agent,
    /// keeping a completion that grants R or W. The result is the translation for <see cref="AtcOutcome.Hit"/> and
    /// <see cref="AtcOutcome.Filled"/>; otherwise a fault carrying the completion's <see cref="AtsCompletion.Fault"/>.
    /// </summary>
    /// <param name="request">The request; its requester id is replaced by the ATC's.</param>
    /// <param name="result">The translation, or the fault.</param>
    /// <returns>How it was answered.</returns>
    public AtcOutcome Translate(in DmaRequest request, out TranslationResult result)
    {
        if (TryTranslate(request, out result))
        {
            if (_checker?.ChecksAtcHits == true)
                _checker.CheckAtcHit(AsFunction(request), result);
            return AtcOutcome.Hit;
        }
        Interlocked.Increment(ref _misses);
        return Request(request, out result);
    }

    private DmaRequest AsFunction(in DmaRequest request) => request.HasPasid
        ? new DmaRequest(RequesterId, request.Pasid, request.Iova, request.Access, request.Attributes)
        : new DmaRequest(RequesterId, null, request.Iova, request.Access);

    /// <summary>Translates a batch with <see cref="Translate(in DmaRequest, out TranslationResult)"/>: results in the same
    /// order, faults where a request was not granted. Hits are pipelined as the unit's batch loop does: each request's set
    /// is located and prefetched 16 requests ahead.</summary>
    /// <param name="requests">The requests.</param>
    /// <param name="results">At least as long as <paramref name="requests"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="results"/> is shorter.</exception>
    public void Translate(ReadOnlySpan<DmaRequest> requests, Span<TranslationResult> results)
    {
        if (results.Length < requests.Length)
            throw new ArgumentException($"{results.Length} results for {requests.Length} requests", nameof(results));
        results = results[..requests.Length];
        if (_checker?.ChecksAtcHits == true)
        {
            // Checking mode: every hit is compared with memory, one request at a time.
            for (int k = 0; k < requests.Length; k++)
                Translate(requests[k], out results[k]);
            return;
        }
        IotlbPipeline.Translate(_cache, requests, results, new Spaces(this), _slowPath);
    }

    /// <summary>A request's ATC space for the pipeline: none for privileged or execute requests and unknown PASIDs.</summary>
    private readonly struct Spaces(DeviceTlb atc) : ISpaceResolver
    {
        public bool TryGetSpace(in DmaRequest request, out IotlbSpace space)
        {
            if (request.Attributes != DmaRequestAttributes.None)
            {
                space = default;
                return false;
            }
            return atc.TryGetSpace(request, out space);
        }
    }

    private TranslationResult SlowPath(in DmaRequest request)
    {
        Translate(request, out TranslationResult result);
        return result;
    }

    private AtcOutcome Request(in DmaRequest request, out TranslationResult result)
    {
        DmaRequest asked = AsFunction(request);
        long sequence = Volatile.Read(ref _sequence);
        Interlocked.Increment(ref _translationRequests);
        AtsCompletion completion = _agent.TranslateForAts(asked);
        if (!completion.IsSuccess)
        {
            result = TranslationResult.Faulted(completion.Fault);
            return AtcOutcome.Unsuccessful;
        }
        DmaProtection rights = completion.Permissions;
        if (rights != DmaProtection.None && request.Attributes == DmaRequestAttributes.None && TryGetOrAddSpace(request, out IotlbSpace space))
        {
            // The cache holds 4 KiB, 2 MiB and 1 GiB entries: a range of another size is kept as the largest of those inside it.
            int shift = completion.SizeShift >= 30 ? 30 : completion.SizeShift >= 21 ? 21 : 12;
            ulong pageHpa = completion.Translate(request.Iova) & ~((1UL << shift) - 1);
            _cache.Fill(request.Iova, shift, space, pageHpa, rights, ref _sequence, sequence);
        }
        bool permits = ((request.Access & DmaAccess.Read) == 0 || (rights & DmaProtection.Read) != 0)
            && ((request.Access & DmaAccess.Write) == 0 || (rights & DmaProtection.Write) != 0);
        if (!permits)
        {
            result = TranslationResult.Faulted(completion.Fault == FaultReason.None ? FaultReason.SmNoWritePermission : completion.Fault);
            return rights == DmaProtection.None ? AtcOutcome.NotPresent : AtcOutcome.Denied;
        }
        int sizeShift = Math.Min(completion.SizeShift, 30);
        result = new TranslationResult(completion.Translate(request.Iova), sizeShift, rights, FaultReason.None);
        return AtcOutcome.Filled;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryGetSpace(in DmaRequest request, out IotlbSpace space)
    {
        if (!request.HasPasid)
        {
            space = _noPasid;
            return true;
        }
        uint pasid = request.Pasid & 0xFFFFF;
        StrongBox<IotlbSpace>? box = Volatile.Read(ref _pasidSpaces[pasid >> 6])?[pasid & 63];
        if (box is null)
        {
            space = default;
            return false;
        }
        space = box.Value;
        return true;
    }

    private bool TryGetOrAddSpace(in DmaRequest request, out IotlbSpace space)
    {
        if (TryGetSpace(request, out space))
            return true;
        uint pasid = request.Pasid & 0xFFFFF;
        lock (_spacesLock)
        {
            ref StrongBox<IotlbSpace>?[]? row = ref _pasidSpaces[pasid >> 6];
            row ??= new StrongBox<IotlbSpace>?[64];
            if (row[pasid & 63] is not { } box)
            {
                box = new StrongBox<IotlbSpace>(_cache.SpaceOf(Iotlb.Tag(SpaceDomain(pasid), pasid)));
                Volatile.Write(ref row[pasid & 63], box);
                _pasids.Add(pasid);
            }
            space = box.Value;
            return true;
        }
    }

    /// <summary>The domain-id half of a PASID's cache tag. The IOTLB structure spreads sets by domain id (its page-selective
    /// invalidation finds a page's set from the domain id alone), so each PASID gets a domain id of its own here, or the
    /// same page of 64 PASIDs would fight over one 3-way set. Two PASIDs may share one; entries still carry the PASID.</summary>
    private static ushort SpaceDomain(uint? pasid) => pasid is uint p ? (ushort)((p & 0xFFFF) + 1 + (p >> 16)) : (ushort)0;

    /// <summary>More PASID spaces than this and an invalidation for every PASID drops everything rather than visiting each.</summary>
    private const int SpacesVisitedPerInvalidation = 64;

    /// <summary>Drops every entry (the function's own reset of its ATC).</summary>
    /// <returns>Entries removed.</returns>
    public int InvalidateAll()
    {
        Interlocked.Increment(ref _sequence);
        return _cache.InvalidateAll();
    }

    /// <summary>
    /// Takes an invalidation request: raises the sequence number, drops every entry the request covers (the range for
    /// its PASID, for every PASID when it carries none or has G set), then answers as <see cref="Answers"/> says.
    /// </summary>
    /// <param name="request">The request.</param>
    public void OnInvalidationRequest(AtsInvalidationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Interlocked.Increment(ref _invalidationRequests);
        Interlocked.Increment(ref _sequence);
        if (request.Pasid is uint p && !request.Global)
        {
            InvalidateSpace(p, request);
        }
        else if (request.SizeShift >= 64 || _pasids.Count > SpacesVisitedPerInvalidation)
        {
            _cache.InvalidateAll();
        }
        else
        {
            InvalidateSpace(null, request);
            foreach (uint pasid in _pasids)
                InvalidateSpace(pasid, request);
        }
        if (Answers == DeviceTlbAnswers.Immediately)
            request.Complete();
        else
            _pending.Enqueue(request);
    }

    private void InvalidateSpace(uint? pasid, AtsInvalidationRequest request)
    {
        ushort domain = SpaceDomain(pasid);
        uint tag = pasid ?? Iotlb.NoPasid;
        if (request.SizeShift >= 64)
            _cache.InvalidatePasid(domain, tag);
        else
            _cache.InvalidatePages(domain, tag, request.Address, request.SizeShift - 12);
    }

    /// <summary>Answers every invalidation request held (for <see cref="DeviceTlbAnswers.Deferred"/>).</summary>
    /// <returns>Requests answered.</returns>
    public int AnswerPendingInvalidations()
    {
        int answered = 0;
        while (_pending.TryDequeue(out AtsInvalidationRequest? request))
        {
            if (!request.IsCompleted)
            {
                request.Complete();
                answered++;
            }
        }
        return answered;
    }

    /// <summary>Passes the response to <see cref="PageGroupResponseReceived"/>.</summary>
    /// <param name="response">The response.</param>
    public void OnPageGroupResponse(PageGroupResponse response) => PageGroupResponseReceived?.Invoke(this, response);

    /// <summary>Disconnects from the agent and frees the cache. No translation may run during or after it.</summary>
    public void Dispose()
    {
        _agent.DisconnectAtsEndpoint(RequesterId);
        _cache.Dispose();
    }
}
