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
    private readonly AtcInvalidationTracker _atc;
    private bool _atcInvalidationFailed; // a request timed out; the next CMD_SYNC fails with CERROR_ATC_INV_SYNC (under _registerLock)

    /// <summary>ATS invalidation requests sent to functions (CMD_ATC_INV with a connected endpoint).</summary>
    public long AtcInvalidations => _atc.Sent;

    /// <summary>ATS invalidation requests given up after <see cref="SmmuOptions.AtcInvalidationTimeout"/>.</summary>
    public long AtcInvalidationTimeouts => _atc.GivenUp;

    /// <summary>Invalidation requests sent and not answered yet.</summary>
    public int OutstandingAtcInvalidations => _atc.Outstanding;

    /// <inheritdoc/>
    public void ConnectAtsEndpoint(ushort requesterId, IAtsEndpoint endpoint)
    {
        if (!_atc.TryConnect(requesterId, endpoint))
            Throw.Iommu(Errno.EEXIST, $"StreamID {Throw.Hex(requesterId)} already has an ATS endpoint on the SMMU at {Throw.Hex(RegisterBase)}");
    }

    /// <inheritdoc/>
    public void DisconnectAtsEndpoint(ushort requesterId) => _atc.Disconnect(requesterId);

    /// <summary>The bookkeeping of the ATC invalidations: a CMD_SYNC resumes the queue when answered, fails on a timeout.</summary>
    private AtcInvalidationTracker NewAtcTracker() => new(_registerLock, Options.TimeProvider, Options.AtcInvalidationTimeout,
        ProcessCommands, OnAtcInvalidationTimeout, DeliverEvents);

    /// <summary>
    /// Takes a page request. The model has no PRI queue: the SMMU answers the last request of a group itself with a
    /// response failure (the function then stops sending page requests) and drops the others.
    /// </summary>
    /// <param name="request">The page request.</param>
    public void SendPageRequest(in PageRequest request)
    {
        if (!request.LastInGroup)
            return;
        _atc.Endpoint(request.RequesterId)?.OnPageGroupResponse(
            new PageGroupResponse(request.RequesterId, request.Pasid, request.GroupIndex, PageResponseCode.ResponseFailure));
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
        if (sid <= ushort.MaxValue)
        {
            _atc.Invalidate((ushort)sid, ssv ? (uint)SmmuCommand.SubstreamId.Get(w0) : null, ssv && SmmuCommand.AtcGlobal.IsSet(w0),
                address, sizeShift);
        }
        return 0;
    }

    /// <summary>A request went unanswered (under the lock, from the tracker, which has given up every outstanding request,
    /// a late answer being ignored, and lifted the stall): the CMD_SYNC that waits, or the next one, fails with
    /// CERROR_ATC_INV_SYNC.</summary>
    private void OnAtcInvalidationTimeout(AtsInvalidationRequest request, bool syncStalled)
    {
        _atcInvalidationFailed = true;
        if (syncStalled)
            ProcessCommands(); // the CMD_SYNC at CONS fails now
    }
}
