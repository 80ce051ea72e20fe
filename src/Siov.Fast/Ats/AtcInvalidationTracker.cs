namespace Siov.Fast.Ats;

/// <summary>
/// The ATC invalidation bookkeeping of a translation agent, the same for a VT-d remapping unit and an SMMUv3: the ATS
/// endpoint connected for each requester id (StreamID); the invalidation requests sent and not answered yet, each with a
/// timer from a <see cref="TimeProvider"/>; the requests and page group responses to send once the agent's register lock
/// is released; and the stall of the agent's queue at a command that waits for every earlier request to be answered,
/// which the last answer lifts.
/// <para>
/// The agent layers its spec behaviour on top through the delegates it gives: how its queue resumes when the last answer
/// comes (VT-d: the invalidation wait descriptor at IQH completes and the invalidation queue goes on; SMMUv3: the
/// CMD_SYNC at CMDQ_CONS completes and the command queue goes on), and what a request unanswered after the timeout does
/// to its registers (VT-d spec 6.5.2.10: FSTS_REG.ITE and IQERCD_REG.ITESID, the held wait discarded, a fault event;
/// SMMUv3: the CMD_SYNC that waits, or the next one, fails with CMDQ_CONS.ERR = CERROR_ATC_INV_SYNC and
/// GERROR.CMDQ_ERR). A timeout gives up every outstanding request: a late answer is ignored.
/// </para>
/// <para>
/// Locking: the tracker's state is guarded by the agent's register lock. Members marked "under the lock" are called by
/// the agent with it held (a command or descriptor running); the others take it themselves. Requests and responses are
/// sent, and the agent's events delivered (its <c>DeliverEvents</c>), with no lock held, since an endpoint may answer at
/// once, which runs the queue further and may queue more, and an event handler (the driver's) may access the registers
/// again from any thread.
/// </para>
/// </summary>
internal sealed class AtcInvalidationTracker
{
    private readonly Lock _lock;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _timeout;
    private readonly Action _resume;
    private readonly Action<AtsInvalidationRequest, bool> _timedOut;
    private readonly Action _deliverEvents;
    private readonly Action<AtsInvalidationRequest> _onAnswered;
    private readonly TimerCallback _onTimeout;

    // Under _lock.
    private readonly Dictionary<ushort, IAtsEndpoint> _endpoints = [];
    private readonly Dictionary<AtsInvalidationRequest, ITimer> _outstanding = [];
    private readonly List<(IAtsEndpoint Endpoint, AtsInvalidationRequest Request)> _requestsToSend = [];
    private readonly List<(IAtsEndpoint Endpoint, PageGroupResponse Response)> _responsesToSend = [];
    private bool _stalled;
    private volatile bool _sendPending;
    private long _sent, _givenUp;

    /// <summary>Creates the bookkeeping of one agent.</summary>
    /// <param name="registerLock">The agent's register lock, which guards the tracker's state.</param>
    /// <param name="timeProvider">Where the requests' timers come from.</param>
    /// <param name="timeout">How long a request may stay unanswered.</param>
    /// <param name="resume">Under the lock: the last outstanding request was answered while the queue was stalled (the
    /// stall is already lifted); the agent runs its queue on from the waiting command.</param>
    /// <param name="timedOut">Under the lock: a request (the first argument) went unanswered; every outstanding request
    /// is already given up and the stall lifted. The second argument tells whether the queue was stalled at a waiting
    /// command. The agent records the error in its registers.</param>
    /// <param name="deliverEvents">With no lock held: the agent sends what was queued (<see cref="SendQueued"/>) and
    /// delivers its events, after an answer, a timeout or a disconnection.</param>
    public AtcInvalidationTracker(Lock registerLock, TimeProvider timeProvider, TimeSpan timeout, Action resume,
        Action<AtsInvalidationRequest, bool> timedOut, Action deliverEvents)
    {
        _lock = registerLock;
        _timeProvider = timeProvider;
        _timeout = timeout;
        _resume = resume;
        _timedOut = timedOut;
        _deliverEvents = deliverEvents;
        _onAnswered = OnAnswered;
        _onTimeout = OnTimeout;
    }

    /// <summary>Invalidation requests sent to endpoints.</summary>
    public long Sent => Volatile.Read(ref _sent);

    /// <summary>Invalidation requests given up after the timeout.</summary>
    public long GivenUp => Volatile.Read(ref _givenUp);

    /// <summary>Invalidation requests sent and not answered yet (takes the lock).</summary>
    public int Outstanding
    {
        get
        {
            lock (_lock)
                return _outstanding.Count;
        }
    }

    /// <summary>Under the lock: the queue is stalled at a command that waits for answers.</summary>
    public bool Stalled => _stalled;

    /// <summary>Connects an endpoint for a requester id (takes the lock).</summary>
    /// <param name="requesterId">The function's requester id or StreamID.</param>
    /// <param name="endpoint">Its endpoint.</param>
    /// <returns>False when another endpoint is connected for it (the agent reports EEXIST).</returns>
    public bool TryConnect(ushort requesterId, IAtsEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        lock (_lock)
            return _endpoints.TryAdd(requesterId, endpoint);
    }

    /// <summary>Disconnects the endpoint of a requester id; its outstanding requests count as answered (the last one
    /// resumes a stalled queue). Takes the lock, then delivers the agent's events.</summary>
    /// <param name="requesterId">The function's requester id or StreamID.</param>
    public void Disconnect(ushort requesterId)
    {
        try
        {
            lock (_lock)
            {
                if (!_endpoints.Remove(requesterId))
                    return;
                foreach (AtsInvalidationRequest request in _outstanding.Keys.Where(r => r.RequesterId == requesterId).ToList())
                    Answered(request);
            }
        }
        finally
        {
            _deliverEvents();
        }
    }

    /// <summary>The endpoint connected for a requester id, or null (takes the lock).</summary>
    /// <param name="requesterId">The function's requester id or StreamID.</param>
    /// <returns>The endpoint.</returns>
    public IAtsEndpoint? Endpoint(ushort requesterId)
    {
        lock (_lock)
            return _endpoints.GetValueOrDefault(requesterId);
    }

    /// <summary>Under the lock: queues an invalidation request for the endpoint of <paramref name="requesterId"/> and
    /// starts its timer; nothing when none is connected (a function without an ATC has nothing to drop).</summary>
    /// <param name="requesterId">The function's requester id or StreamID.</param>
    /// <param name="pasid">The PASID (SubstreamID) the request carries, or null.</param>
    /// <param name="global">The Global Invalidate bit.</param>
    /// <param name="address">First byte of the range.</param>
    /// <param name="sizeShift">log2 of the range's size (64: everything).</param>
    /// <returns>True when a request was queued.</returns>
    public bool Invalidate(ushort requesterId, uint? pasid, bool global, ulong address, int sizeShift)
    {
        if (!_endpoints.TryGetValue(requesterId, out IAtsEndpoint? endpoint))
            return false;
        var request = new AtsInvalidationRequest(requesterId, pasid, global, address, sizeShift, _onAnswered);
        ITimer timer = _timeProvider.CreateTimer(_onTimeout, request, _timeout, Timeout.InfiniteTimeSpan);
        _outstanding.Add(request, timer);
        _requestsToSend.Add((endpoint, request));
        _sendPending = true;
        Interlocked.Increment(ref _sent);
        return true;
    }

    /// <summary>Under the lock: queues a page group response for the endpoint it names; nothing when none is connected
    /// (the message goes nowhere).</summary>
    /// <param name="response">The response.</param>
    public void Respond(in PageGroupResponse response)
    {
        if (!_endpoints.TryGetValue(response.RequesterId, out IAtsEndpoint? endpoint))
            return;
        _responsesToSend.Add((endpoint, response));
        _sendPending = true;
    }

    /// <summary>Under the lock: a command that waits for every earlier request to be answered (VT-d's invalidation wait
    /// descriptor, SMMUv3's CMD_SYNC). With requests outstanding the queue stalls at it until the last answer or a
    /// timeout.</summary>
    /// <returns>True when the queue stalls.</returns>
    public bool StallIfOutstanding()
    {
        if (_outstanding.Count == 0)
            return false;
        _stalled = true;
        return true;
    }

    /// <summary>Sends the requests and then the responses queued under the lock, with no lock held, until none is left
    /// (an endpoint may answer at once, which may run the queue further and queue more).</summary>
    public void SendQueued()
    {
        while (_sendPending)
        {
            (IAtsEndpoint Endpoint, AtsInvalidationRequest Request)[] requests;
            (IAtsEndpoint Endpoint, PageGroupResponse Response)[] responses;
            lock (_lock)
            {
                requests = [.. _requestsToSend];
                _requestsToSend.Clear();
                responses = [.. _responsesToSend];
                _responsesToSend.Clear();
                _sendPending = false;
            }
            foreach ((IAtsEndpoint endpoint, AtsInvalidationRequest request) in requests)
                endpoint.OnInvalidationRequest(request);
            foreach ((IAtsEndpoint endpoint, PageGroupResponse response) in responses)
                endpoint.OnPageGroupResponse(response);
        }
    }

    /// <summary>Under the lock: stops every timer and forgets the outstanding requests (the agent is disposed).</summary>
    public void CancelAll()
    {
        foreach (ITimer timer in _outstanding.Values)
            timer.Dispose();
        _outstanding.Clear();
    }

    /// <summary>Under the lock: removes an answered request; the last answer lifts the stall and resumes the queue.</summary>
    private void Answered(AtsInvalidationRequest request)
    {
        if (!_outstanding.Remove(request, out ITimer? timer))
            return;
        timer.Dispose();
        if (_outstanding.Count == 0 && _stalled)
        {
            _stalled = false;
            _resume();
        }
    }

    /// <summary>The endpoint's answer (<see cref="AtsInvalidationRequest.Complete"/>), from any thread.</summary>
    private void OnAnswered(AtsInvalidationRequest request)
    {
        try
        {
            lock (_lock)
                Answered(request);
        }
        finally
        {
            _deliverEvents();
        }
    }

    /// <summary>A request's timer fired: unless it was answered meanwhile, every outstanding request is given up (a late
    /// answer is ignored), the stall lifted, and the agent records the error.</summary>
    private void OnTimeout(object? state)
    {
        var request = (AtsInvalidationRequest)state!;
        try
        {
            lock (_lock)
            {
                if (!_outstanding.ContainsKey(request))
                    return;
                Interlocked.Add(ref _givenUp, _outstanding.Count);
                CancelAll();
                bool stalled = _stalled;
                _stalled = false;
                _timedOut(request, stalled);
            }
        }
        finally
        {
            _deliverEvents();
        }
    }
}
