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
    private readonly AtcInvalidationTracker _atc;

    /// <summary>Device-TLB invalidation requests sent to functions.</summary>
    public long DeviceTlbInvalidations => _atc.Sent;

    /// <summary>Invalidation requests sent and not answered yet.</summary>
    public int OutstandingDeviceTlbInvalidations => _atc.Outstanding;

    /// <inheritdoc/>
    public void ConnectAtsEndpoint(ushort requesterId, IAtsEndpoint endpoint)
    {
        if (!_atc.TryConnect(requesterId, endpoint))
            Throw.Iommu(Errno.EEXIST, $"{RequesterIds.Format(requesterId)} already has an ATS endpoint on this unit");
    }

    /// <inheritdoc/>
    public void DisconnectAtsEndpoint(ushort requesterId) => _atc.Disconnect(requesterId);

    /// <summary>The bookkeeping of the device-TLB invalidations: a wait resumes the queue when answered, ITE on a timeout.</summary>
    private AtcInvalidationTracker NewAtcTracker() => new(_registerLock, Options.TimeProvider, Options.DeviceTlbInvalidationTimeout,
        ProcessInvalidationQueue, OnInvalidationTimeout, DeliverEvents);

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
        (ulong address, int sizeShift) = AtsAddressRange.Decode(w1, size);
        _atc.Invalidate(sid, pasid, global, address, sizeShift);
        return InvalidationQueueError.None;
    }

    /// <summary>ITE (VT-d spec 6.5.2.10): the outstanding requests are given up (a late answer is ignored), a wait held by
    /// them is discarded (IQH moves past it, no status write), ITESID names the function, and the queue stops until
    /// software clears FSTS_REG.ITE. A fault event follows when no other event status was set. Under the lock, from the
    /// tracker, which has given up the requests and lifted the stall.</summary>
    private void OnInvalidationTimeout(AtsInvalidationRequest request, bool waitStalled)
    {
        if (waitStalled)
        {
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

    /// <summary>The queue's base, descriptor size and size in bytes, from IQA_REG.</summary>
    private (ulong BaseHpa, ulong DescriptorBytes, ulong QueueBytes) QueueGeometry() => (
        _queueAddress & InvalidationQueueAddress.Address.Mask,
        InvalidationQueueAddress.DescriptorWidth.IsSet(_queueAddress) ? 32UL : 16UL,
        4096UL << (int)InvalidationQueueAddress.QueueSize.Get(_queueAddress));
}
