using Siov.Fast.Ats;
using Siov.Fast.Caching;
using Siov.Fast.Concurrency;

namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// Page requests (VT-d spec 7.5): a function's page request is checked against its context entry (PRE) and written as a
/// 32-byte descriptor at PQT_REG in the queue at PQA_REG; PRS_REG.PPR and the page request event tell software, which
/// consumes descriptors up to PQT by moving PQH_REG and answers each group with a page group response descriptor on the
/// invalidation queue, which the unit passes to the function. A request the unit cannot queue is answered by the unit.
/// </summary>
public sealed partial class RemappingUnit
{
    private const uint PendingPageRequestBit = 1, PageRequestOverflowBit = 2; // PRS_REG.PPR, PRO
    private volatile bool _pendingPageRequestEvent;
    private long _pageRequests, _pageRequestsAnswered;

    /// <summary>Raised when the unit sets PRS_REG.PPR (a descriptor was written while none was pending) with PECTL_REG.IM
    /// clear, or when software clears IM with an event pending (PECTL_REG.IP). Runs with no lock of the unit held.</summary>
    public event EventHandler? PageRequestEvent;

    /// <summary>Page requests written to the queue.</summary>
    public long PageRequests => Volatile.Read(ref _pageRequests);

    /// <summary>Page requests the unit answered itself (blocked, or the queue full).</summary>
    public long PageRequestsAnsweredByUnit => Volatile.Read(ref _pageRequestsAnswered);

    /// <summary>
    /// Takes a page request from a function (VT-d spec 7.5.1):
    /// <list type="bullet">
    /// <item>Legacy mode (32h), no PRS, a context entry that faults, or PRE clear in it (47h): the fault is recorded (unless
    /// FPD) and the unit answers the group "invalid request" itself when the request is the last of its group.</item>
    /// <item>PRS_REG.PRO set, or the queue full: PRO is set and the unit answers "success" for a last request, so the
    /// function asks again later.</item>
    /// <item>Otherwise the descriptor is written at PQT_REG, PQT moves on, PPR is set, and a page request event follows
    /// when PPR was clear.</item>
    /// </list>
    /// </summary>
    /// <param name="request">The request.</param>
    public void SendPageRequest(in PageRequest request)
    {
        try
        {
            lock (_registerLock)
                QueuePageRequest(request);
        }
        finally
        {
            DeliverEvents();
        }
    }

    private void QueuePageRequest(in PageRequest request)
    {
        ThreadCounters counters = _counters.Current;
        DmaAccess access = (request.Read ? DmaAccess.Read : 0) | (request.Write ? DmaAccess.Write : 0);
        var asDma = new DmaRequest(request.RequesterId, request.Pasid, request.Address, access);
        if (!IsScalableMode || !ExtendedCapability.PageRequest)
        {
            if (IsScalableMode || ExtendedCapability.ScalableMode)
                Fault(asDma, FaultReason.SmLegacyModePageRequest, false, counters);
            AnswerByUnit(request, PageResponseCode.InvalidRequest);
            return;
        }
        FaultReason reason;
        ContextCacheEntry? context;
        using (EpochScope scope = _memory.Reclaimer.Protect())
            reason = ResolveContext(asDma, counters, Volatile.Read(ref _invalidationSequence), out context);
        if (context == null || !context.PageRequestEnabled)
        {
            Fault(asDma, context == null ? reason : FaultReason.SmPageRequestDisabled, context?.FaultProcessingDisable ?? false, counters);
            AnswerByUnit(request, PageResponseCode.InvalidRequest);
            return;
        }
        ulong baseHpa = _pageRequestQueueAddress & ~0xFFFUL;
        ulong queueBytes = 4096UL << (int)(_pageRequestQueueAddress & 7);
        ulong tail = _pageRequestQueueTail % queueBytes;
        ulong next = (tail + PageRequestDescriptor.Size) % queueBytes;
        bool full = next == _pageRequestQueueHead % queueBytes;
        if ((_pageRequestStatus & PageRequestOverflowBit) != 0 || full || baseHpa == 0 || !_memory.Contains(baseHpa + tail, PageRequestDescriptor.Size))
        {
            _pageRequestStatus |= PageRequestOverflowBit;
            AnswerByUnit(request, PageResponseCode.Success);
            return;
        }
        (ulong q0, ulong q1) = PageRequestDescriptor.Encode(request);
        _memory.WriteUInt64(baseHpa + tail + 24, 0);
        _memory.WriteUInt64(baseHpa + tail + 16, 0);
        _memory.WriteUInt64(baseHpa + tail + 8, q1);
        _memory.WriteUInt64(baseHpa + tail, q0);
        _pageRequestQueueTail = next;
        Interlocked.Increment(ref _pageRequests);
        if ((_pageRequestStatus & PendingPageRequestBit) == 0)
        {
            _pageRequestStatus |= PendingPageRequestBit;
            if ((_pageRequestEventControl & (1u << 31)) == 0)
                _pendingPageRequestEvent = true;
            else
                _pageRequestEventControl |= 1u << 30; // IP: pending until software unmasks
        }
    }

    /// <summary>The unit's own answer to a group it does not queue (only for the last request of a group).</summary>
    private void AnswerByUnit(in PageRequest request, PageResponseCode code)
    {
        Interlocked.Increment(ref _pageRequestsAnswered);
        if (request.LastInGroup)
            _atc.Respond(new PageGroupResponse(request.RequesterId, request.Pasid, request.GroupIndex, code));
    }

    /// <summary>A page group response descriptor (type 9): passes the response to the function.</summary>
    private InvalidationQueueError PageGroupResponseDescriptor(ulong w0, ulong w1)
    {
        if (!IsScalableMode || !ExtendedCapability.PageRequest)
            return InvalidationQueueError.InvalidType;
        const ulong allowed0 = 0xFUL | 0x30UL | 0xF000UL | 0xFFFF_0000UL | 0xF_FFFF_0000_0000UL;
        const ulong allowed1 = 0x4UL | 0xFF8UL;
        if ((w0 & ~allowed0) != 0 || (w1 & ~allowed1) != 0)
            return InvalidationQueueError.ReservedField;
        var code = (PageResponseCode)PageRequestDescriptor.ResponseCodeField.Get(w0);
        if (code is not (PageResponseCode.Success or PageResponseCode.InvalidRequest or PageResponseCode.ResponseFailure))
            return InvalidationQueueError.ReservedField;
        uint? pasid = PageRequestDescriptor.ResponsePasidPresentField.IsSet(w0) ? (uint)PageRequestDescriptor.ResponsePasidField.Get(w0) : null;
        _atc.Respond(new PageGroupResponse((ushort)PageRequestDescriptor.ResponseRequesterIdField.Get(w0), pasid,
            (int)PageRequestDescriptor.ResponseGroupIndexField.Get(w1), code));
        return InvalidationQueueError.None;
    }

    /// <summary>Raises the page request event if one is due (no lock held).</summary>
    private void DeliverPageRequestEvent()
    {
        if (!_pendingPageRequestEvent)
            return;
        _pendingPageRequestEvent = false;
        PageRequestEvent?.Invoke(this, EventArgs.Empty);
    }
}
