using Siov.Fast.Ats;
using static Siov.Fast.Hardware.SmmuV3.SmmuRegisters;

namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>
/// The functions' ATCs (Arm IHI 0070, 3.9.1 and 4.5): a function connects its endpoint for its StreamID; CMD_ATC_INV sends
/// it an ATS invalidation request; a CMD_SYNC completes only when every invalidation request sent before it is answered.
/// A request unanswered after <see cref="SmmuOptions.AtcInvalidationTimeout"/> is given up: the CMD_SYNC that waits for it
/// (or the next one) fails with CMDQ_CONS.ERR = CERROR_ATC_INV_SYNC and GERROR.CMDQ_ERR, CONS staying at the CMD_SYNC, and
/// the queue stops until software acknowledges GERROR.CMDQ_ERR; the CMD_SYNC then runs again and completes (Linux's
/// <c>arm_smmu_cmdq_skip_err</c> leaves it in place for that).
/// </summary>
public sealed partial class Smmu : IAtsTranslationAgent
{
    // Under _registerLock.
    private readonly Dictionary<ushort, IAtsEndpoint> _atsEndpoints = [];
    private readonly Dictionary<AtsInvalidationRequest, ITimer> _outstanding = [];
    private readonly List<(IAtsEndpoint Endpoint, AtsInvalidationRequest Request)> _toSend = [];
    private bool _syncStalled;        // CONS is at a CMD_SYNC that waits for answers
    private bool _atcInvalidationFailed; // a request timed out; the next CMD_SYNC fails with CERROR_ATC_INV_SYNC
    private volatile bool _sendPending;
    private long _atcInvalidations, _atcTimeouts;

    /// <summary>ATS invalidation requests sent to functions (CMD_ATC_INV with a connected endpoint).</summary>
    public long AtcInvalidations => Volatile.Read(ref _atcInvalidations);

    /// <summary>ATS invalidation requests given up after <see cref="SmmuOptions.AtcInvalidationTimeout"/>.</summary>
    public long AtcInvalidationTimeouts => Volatile.Read(ref _atcTimeouts);

    /// <summary>Invalidation requests sent and not answered yet.</summary>
    public int OutstandingAtcInvalidations
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
                Throw.Iommu(Errno.EEXIST, $"StreamID {Throw.Hex(requesterId)} already has an ATS endpoint on the SMMU at {Throw.Hex(RegisterBase)}");
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

    /// <summary>
    /// Takes a page request. The model has no PRI queue: the SMMU answers the last request of a group itself with a
    /// response failure (the function then stops sending page requests) and drops the others.
    /// </summary>
    /// <param name="request">The page request.</param>
    public void SendPageRequest(in PageRequest request)
    {
        if (!request.LastInGroup)
            return;
        IAtsEndpoint? endpoint;
        lock (_registerLock)
            _atsEndpoints.TryGetValue(request.RequesterId, out endpoint);
        endpoint?.OnPageGroupResponse(new PageGroupResponse(request.RequesterId, request.Pasid, request.GroupIndex, PageResponseCode.ResponseFailure));
    }

    /// <summary>CMD_ATC_INV (under the register lock): CERROR_ILL without SMMU_IDR0.ATS or with a Size above 52; otherwise
    /// an invalidation request queued for the StreamID's endpoint, if one is connected (a function without an ATC has
    /// nothing to drop). Returns the CMDQ_CONS.ERR code, or 0.</summary>
    private uint AtcInvalidate(ulong w0, ulong w1)
    {
        int size = (int)SmmuCommand.AtcSize.Get(w1);
        if (!SupportsAts || size > SmmuCommand.AtcSizeAll)
            return CmdqConsFields.IllegalCommand;
        uint sid = (uint)SmmuCommand.StreamId.Get(w0);
        bool ssv = SmmuCommand.SubstreamValid.IsSet(w0);
        int sizeShift = size + 12;
        ulong address = sizeShift >= 64 ? 0 : w1 & SmmuCommand.Address.Mask & ~((1UL << sizeShift) - 1);
        _sanitizer?.NoteInvalidation(Hardware.Vtd.StaleCache.DeviceTlb, null, (ushort)sid, _memory.WriteLog?.Sequence ?? 0);
        if (sid > ushort.MaxValue || !_atsEndpoints.TryGetValue((ushort)sid, out IAtsEndpoint? endpoint))
            return 0;
        var request = new AtsInvalidationRequest((ushort)sid, ssv ? (uint)SmmuCommand.SubstreamId.Get(w0) : null,
            ssv && SmmuCommand.AtcGlobal.IsSet(w0), address, sizeShift, OnAtcInvalidationAnswered);
        ITimer timer = Options.TimeProvider.CreateTimer(OnAtcInvalidationTimeout, request, Options.AtcInvalidationTimeout, Timeout.InfiniteTimeSpan);
        _outstanding.Add(request, timer);
        _toSend.Add((endpoint, request));
        _sendPending = true;
        Interlocked.Increment(ref _atcInvalidations);
        return 0;
    }

    /// <summary>Whether a CMD_SYNC must stay at CONS: invalidation requests sent before it are unanswered (under the lock).</summary>
    private bool WaitForAtcAnswers()
    {
        if (_outstanding.Count == 0)
            return false;
        _syncStalled = true;
        return true;
    }

    /// <summary>Removes an answered request; the last answer lets a stalled CMD_SYNC complete and the queue go on. Under the lock.</summary>
    private void Answered(AtsInvalidationRequest request)
    {
        if (!_outstanding.Remove(request, out ITimer? timer))
            return;
        timer.Dispose();
        if (_outstanding.Count == 0 && _syncStalled)
        {
            _syncStalled = false;
            ProcessCommands();
        }
    }

    private void OnAtcInvalidationAnswered(AtsInvalidationRequest request)
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

    /// <summary>A request went unanswered: every outstanding request is given up (a late answer is ignored) and the
    /// CMD_SYNC that waits, or the next one, fails with CERROR_ATC_INV_SYNC.</summary>
    private void OnAtcInvalidationTimeout(object? state)
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
                Interlocked.Add(ref _atcTimeouts, _outstanding.Count);
                _outstanding.Clear();
                _atcInvalidationFailed = true;
                if (_syncStalled)
                {
                    _syncStalled = false;
                    ProcessCommands(); // the CMD_SYNC at CONS fails now
                }
            }
        }
        finally
        {
            DeliverEvents();
        }
    }

    /// <summary>Sends the invalidation requests queued under the lock, with no lock held (an endpoint may answer at once,
    /// which may run the queue further and queue more).</summary>
    private void SendAtcInvalidations()
    {
        while (_sendPending)
        {
            (IAtsEndpoint Endpoint, AtsInvalidationRequest Request)[] batch;
            lock (_registerLock)
            {
                batch = [.. _toSend];
                _toSend.Clear();
                _sendPending = false;
            }
            foreach ((IAtsEndpoint endpoint, AtsInvalidationRequest request) in batch)
                endpoint.OnInvalidationRequest(request);
        }
    }
}
