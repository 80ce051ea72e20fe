using Siov.Fast.Ats;
using static Siov.Fast.Hardware.Vtd.VtdRegisters;

namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// Device-TLBs (VT-d spec 6.5.2.5, 6.5.2.6, 6.5.2.10): the device-TLB and PASID-based device-TLB invalidation descriptors
/// send ATS invalidation requests to the connected functions; an invalidation wait descriptor completes only when every
/// request sent before it is answered; a request unanswered after <see cref="RemappingUnitOptions.DeviceTlbInvalidationTimeout"/>
/// is an invalidation time-out (FSTS_REG.ITE, IQERCD_REG.ITESID), which discards the wait it held and stops the queue
/// until software clears ITE.
/// </summary>
public sealed partial class RemappingUnit : IAtsTranslationAgent
{
    // Under _registerLock.
    private readonly Dictionary<ushort, IAtsEndpoint> _atsEndpoints = [];
    private readonly Dictionary<AtsInvalidationRequest, ITimer> _outstanding = [];
    private readonly List<(IAtsEndpoint Endpoint, AtsInvalidationRequest Request)> _toSend = [];
    private bool _waitStalled;        // IQH is at a wait descriptor that waits for answers
    private volatile bool _sendPending;
    private long _deviceTlbInvalidations;

    /// <summary>Device-TLB invalidation requests sent to functions.</summary>
    public long DeviceTlbInvalidations => Volatile.Read(ref _deviceTlbInvalidations);

    /// <summary>Invalidation requests sent and not answered yet.</summary>
    public int OutstandingDeviceTlbInvalidations
    {
        get
        {
            lock (_registerLock)
                return _outstanding.Count;
        }
    }

    /// <inheritdoc/>
    public void ConnectAtsEndpoint(ushort requesterId, IAtsEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        lock (_registerLock)
        {
            if (!_atsEndpoints.TryAdd(requesterId, endpoint))
                Throw.Iommu(Errno.EEXIST, $"{RequesterIds.Format(requesterId)} already has an ATS endpoint on this unit");
        }
    }

    /// <inheritdoc/>
    public void DisconnectAtsEndpoint(ushort requesterId)
    {
        try
        {
            lock (_registerLock)
            {
                if (!_atsEndpoints.Remove(requesterId))
                    return;
                foreach (AtsInvalidationRequest request in _outstanding.Keys.Where(r => r.RequesterId == requesterId).ToList())
                    Answered(request);
            }
        }
        finally
        {
            DeliverEvents();
        }
    }

    /// <summary>A device-TLB (type 3) or PASID-based device-TLB (type 8) descriptor: checks its reserved bits and queues the
    /// invalidation request for the function, if one is connected for SID (a function with no ATC has nothing to drop).</summary>
    private InvalidationQueueError DeviceTlbDescriptor(ulong w0, ulong w1, bool withPasid)
    {
        if (!ExtendedCapability.DeviceTlb || (withPasid && !IsScalableMode))
            return InvalidationQueueError.InvalidType;
        const ulong pfsid = 0xF000UL | 0xFFF0_0000_0000_0000UL;
        ushort sid;
        uint? pasid = null;
        bool global = false, size;
        if (withPasid)
        {
            const ulong allowed0 = 0xFUL | 0x1F0UL | pfsid | 0xFFFF_0000UL | 0xF_FFFF_0000_0000UL;
            if ((w0 & ~allowed0) != 0 || (w1 & 0x7FEUL) != 0)
                return InvalidationQueueError.ReservedField;
            sid = (ushort)InvalidationDescriptors.PasidDeviceTlbSourceId.Get(w0);
            pasid = (uint)InvalidationDescriptors.Pasid.Get(w0);
            global = InvalidationDescriptors.PasidDeviceTlbGlobal.IsSet(w1);
            size = InvalidationDescriptors.PasidDeviceTlbSize.IsSet(w1);
        }
        else
        {
            const ulong allowed0 = 0xFUL | pfsid | 0x1F_0000UL | 0xFFFF_0000_0000UL;
            if ((w0 & ~allowed0) != 0 || (w1 & 0xFFEUL) != 0)
                return InvalidationQueueError.ReservedField;
            sid = (ushort)InvalidationDescriptors.DeviceTlbSourceId.Get(w0);
            size = InvalidationDescriptors.DeviceTlbSize.IsSet(w1);
        }
        _sanitizer?.NoteInvalidation(StaleCache.DeviceTlb, null, sid, _memory.WriteLog?.Sequence ?? 0);
        if (!_atsEndpoints.TryGetValue(sid, out IAtsEndpoint? endpoint))
            return InvalidationQueueError.None;
        (ulong address, int sizeShift) = AtsAddressRange.Decode(w1, size);
        var request = new AtsInvalidationRequest(sid, pasid, global, address, sizeShift, OnInvalidationAnswered);
        ITimer timer = Options.TimeProvider.CreateTimer(OnInvalidationTimeout, request, Options.DeviceTlbInvalidationTimeout, Timeout.InfiniteTimeSpan);
        _outstanding.Add(request, timer);
        _toSend.Add((endpoint, request));
        _sendPending = true;
        Interlocked.Increment(ref _deviceTlbInvalidations);
        return InvalidationQueueError.None;
    }

    /// <summary>An invalidation wait with requests outstanding stays at IQH until they are answered (or time out).</summary>
    private bool WaitForDevices()
    {
        if (_outstanding.Count == 0)
            return false;
        _waitStalled = true;
        return true;
    }

    /// <summary>Removes an answered request; the last answer lets a stalled wait complete and the queue go on. Under the lock.</summary>
    private void Answered(AtsInvalidationRequest request)
    {
        if (!_outstanding.Remove(request, out ITimer? timer))
            return;
        timer.Dispose();
        if (_outstanding.Count == 0 && _waitStalled)
        {
            _waitStalled = false;
            ProcessInvalidationQueue();
        }
    }

    private void OnInvalidationAnswered(AtsInvalidationRequest request)
    {
        try
        {
            lock (_registerLock)
                Answered(request);
        }
        finally
        {
            DeliverEvents();
        }
    }

    /// <summary>ITE (VT-d spec 6.5.2.10): the outstanding requests are given up (a late answer is ignored), a wait held by
    /// them is discarded (IQH moves past it, no status write), ITESID names the function, and the queue stops until
    /// software clears FSTS_REG.ITE. A fault event follows when no other event status was set.</summary>
    private void OnInvalidationTimeout(object? state)
    {
        var request = (AtsInvalidationRequest)state!;
        try
        {
            lock (_registerLock)
            {
                if (!_outstanding.ContainsKey(request))
                    return;
                foreach (ITimer timer in _outstanding.Values)
                    timer.Dispose();
                _outstanding.Clear();
                if (_waitStalled)
                {
                    _waitStalled = false;
                    (_, ulong descriptorBytes, ulong queueBytes) = QueueGeometry();
                    _queueHead = (_queueHead + descriptorBytes) % queueBytes;
                }
                bool newEvent;
                lock (_faultRecords)
                {
                    newEvent = (StatusLocked() & EventStatusBits) == 0;
                    _faultStatus |= (uint)FaultStatus.InvalidationTimeoutError.Mask;
                }
                _queueErrorRecord = InvalidationTimeoutSourceId.With(_queueErrorRecord, request.RequesterId);
                if (newEvent)
                    RaiseFaultEvent();
            }
        }
        finally
        {
            DeliverEvents();
        }
    }

    /// <summary>Sends the invalidation requests and page group responses queued under the lock, with no lock held (an
    /// endpoint may answer at once, which may run the queue further and queue more).</summary>
    private void SendInvalidationRequests()
    {
        while (_sendPending)
        {
            (IAtsEndpoint Endpoint, AtsInvalidationRequest Request)[] batch;
            (IAtsEndpoint Endpoint, PageGroupResponse Response)[] responses;
            lock (_registerLock)
            {
                batch = [.. _toSend];
                _toSend.Clear();
                responses = [.. _responsesToSend];
                _responsesToSend.Clear();
                _sendPending = false;
            }
            foreach ((IAtsEndpoint endpoint, AtsInvalidationRequest request) in batch)
                endpoint.OnInvalidationRequest(request);
            foreach ((IAtsEndpoint endpoint, PageGroupResponse response) in responses)
                endpoint.OnPageGroupResponse(response);
        }
    }

    /// <summary>The queue's base, descriptor size and size in bytes, from IQA_REG.</summary>
    private (ulong BaseHpa, ulong DescriptorBytes, ulong QueueBytes) QueueGeometry() => (
        _queueAddress & InvalidationQueueAddress.Address.Mask,
        InvalidationQueueAddress.DescriptorWidth.IsSet(_queueAddress) ? 32UL : 16UL,
        4096UL << (int)InvalidationQueueAddress.QueueSize.Get(_queueAddress));
}
