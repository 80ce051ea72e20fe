using Siov.Fast.PageTables;
using static Siov.Fast.Hardware.SmmuV3.SmmuRegisters;

namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>The event queue (Arm IHI 0070, 7.2-7.4): 32-byte records at EVENTQ_PROD, overflow flagged in PROD.OVFLG.</summary>
public sealed partial class Smmu
{
    /// <summary>Event record fields (Arm IHI 0070, 7.3).</summary>
    public static class EventFields
    {
        /// <summary>Bytes per record.</summary>
        public const int Size = 32;

        /// <summary>EventID, word 0 bits 7:0.</summary>
        public static readonly RegisterField Type = new(0, 8);

        /// <summary>SSV, word 0 bit 11.</summary>
        public static readonly RegisterField SubstreamValid = new(11, 1);

        /// <summary>SubstreamID, word 0 bits 31:12.</summary>
        public static readonly RegisterField SubstreamId = new(12, 20);

        /// <summary>StreamID, word 0 bits 63:32.</summary>
        public static readonly RegisterField StreamId = new(32, 32);

        /// <summary>PnU, word 1 bit 33: a privileged transaction.</summary>
        public static readonly RegisterField Privileged = new(33, 1);

        /// <summary>InD, word 1 bit 34: an instruction fetch.</summary>
        public static readonly RegisterField Instruction = new(34, 1);

        /// <summary>RnW, word 1 bit 35: a read.</summary>
        public static readonly RegisterField Read = new(35, 1);

        /// <summary>S2, word 1 bit 39: the fault came from stage 2.</summary>
        public static readonly RegisterField Stage2 = new(39, 1);

        /// <summary>CLASS, word 1 bits 41:40 (stage 2 faults): 0 CD fetch, 1 a stage 1 table walk (TT), 2 the input (IN).</summary>
        public static readonly RegisterField Class = new(40, 2);

        /// <summary>The IPA of a stage 2 fault, word 3 bits 51:12.</summary>
        public static readonly RegisterField Ipa = new(12, 40);
    }

    /// <summary>Events written, and events lost to a full queue.</summary>
    public long EventsRecorded => Volatile.Read(ref _eventsRecorded);

    /// <summary>Events lost because the queue was full or disabled.</summary>
    public long EventsLost => Volatile.Read(ref _eventsLost);

    private long _eventsRecorded, _eventsLost;
    private readonly Lock _eventLock = new();

    /// <summary>A configuration event, or an ATS one: F_STE_FETCH and F_CD_FETCH carry the fetch address in word 3;
    /// F_BAD_ATS_TREQ and F_TRANSL_FORBIDDEN the transaction's address in word 2.</summary>
    private static (ulong, ulong, ulong, ulong) ConfigEvent(SmmuEventType type, in DmaRequest request, ulong fetchAddress) =>
        (Word0(type, request), 0,
            type is SmmuEventType.BadAtsTranslationRequest or SmmuEventType.TranslationForbidden ? request.Iova : 0,
            type is SmmuEventType.SteFetch or SmmuEventType.CdFetch ? fetchAddress & ~7UL : 0);

    private static (ulong, ulong, ulong, ulong) TranslationEvent(SmmuEventType type, in DmaRequest request, in LpaeWalk walk)
    {
        bool write = (request.Access & DmaAccess.Write) != 0;
        ulong w1 = EventFields.Privileged.Encode((request.Attributes & DmaRequestAttributes.Privileged) != 0 ? 1UL : 0)
            | EventFields.Instruction.Encode((request.Attributes & DmaRequestAttributes.Execute) != 0 ? 1UL : 0)
            | EventFields.Read.Encode(write ? 0UL : 1UL)
            | EventFields.Stage2.Encode(walk.SecondStage ? 1UL : 0)
            | EventFields.Class.Encode(walk.SecondStage ? (walk.TableWalk ? 1UL : 2UL) : 0);
        return (Word0(type, request), w1, request.Iova, walk.SecondStage ? walk.FaultAddress & EventFields.Ipa.Mask : 0);
    }

    private static ulong Word0(SmmuEventType type, in DmaRequest request) =>
        EventFields.Type.Encode((ulong)type) | EventFields.StreamId.Encode(request.RequesterId)
        | (request.HasPasid ? EventFields.SubstreamValid.Encode(1) | EventFields.SubstreamId.Encode(request.Pasid) : 0);

    /// <summary>Writes a record at EVENTQ_PROD when EVTQEN is set and the queue has room; a full queue loses the event and
    /// toggles PROD.OVFLG (once per overflow: while OVFLG differs from CONS.OVACKFLG it stays).</summary>
    private void RecordEvent((ulong W0, ulong W1, ulong W2, ulong W3) record)
    {
        lock (_eventLock)
        {
            if (!Cr0Fields.EventQueueEnable.IsSet(_cr0))
            {
                Interlocked.Increment(ref _eventsLost);
                return;
            }
            int log2 = (int)QueueBaseFields.Log2Size.Get(_eventqBase);
            uint mask = (1u << log2) - 1, wrap = 1u << log2;
            uint prod = _eventqProd, cons = _eventqCons;
            bool full = (prod & mask) == (cons & mask) && (prod & wrap) != (cons & wrap);
            if (full)
            {
                Interlocked.Increment(ref _eventsLost);
                uint overflow = (uint)EventqIndexFields.Overflow.Mask;
                if ((prod & overflow) == (cons & overflow))
                    _eventqProd ^= overflow;
                return;
            }
            ulong at = (_eventqBase & QueueBaseFields.Address.Mask) + (prod & mask) * (ulong)EventFields.Size;
            if (!_memory.Contains(at, EventFields.Size))
            {
                Interlocked.Increment(ref _eventsLost);
                _gerror ^= (uint)GerrorFields.EventQueueAbortError.Mask & ~(_gerror ^ _gerrorn);
                return;
            }
            _memory.WriteUInt64(at + 8, record.W1);
            _memory.WriteUInt64(at + 16, record.W2);
            _memory.WriteUInt64(at + 24, record.W3);
            _memory.WriteUInt64(at, record.W0);
            _eventqProd = (_eventqProd & (uint)EventqIndexFields.Overflow.Mask) | ((prod + 1) & (mask | wrap));
            Interlocked.Increment(ref _eventsRecorded);
            _pendingEvent = true;
        }
        DeliverEvents();
    }
}
