using Siov.Fast.Caching;
using static Siov.Fast.Hardware.SmmuV3.SmmuRegisters;

namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>The command queue (Arm IHI 0070, chapter 4): commands from CMDQ_CONS to CMDQ_PROD run in order when CMDQEN is
/// set; an illegal one stops the queue with CMDQ_CONS.ERR = CERROR_ILL and GERROR.CMDQ_ERR until software acknowledges it
/// through GERRORN (having replaced the command). A CMD_SYNC behind unanswered ATS invalidation requests stays at CONS until
/// they are answered (see <see cref="OutstandingAtcInvalidations"/>).</summary>
public sealed partial class Smmu
{
    /// <summary>Not an error: the CMD_SYNC at CONS waits for answers; the queue goes on from it later.</summary>
    private const uint Stalled = uint.MaxValue;

    /// <summary>Commands executed.</summary>
    public long CommandsExecuted => Volatile.Read(ref _commandsExecuted);

    private long _commandsExecuted;
    private int _commandsRunning; // for the sanitizer: a queue run (and its invalidations) in progress

    /// <summary>Runs the queue from CONS to PROD (under the register lock).</summary>
    private void ProcessCommands()
    {
        if (!Cr0Fields.CommandQueueEnable.IsSet(_cr0) || ((_gerror ^ _gerrorn) & (uint)GerrorFields.CommandQueueError.Mask) != 0
            || _atc.Stalled)
            return;
        Interlocked.Increment(ref _commandsRunning);
        try
        {
            RunCommands();
        }
        finally
        {
            Interlocked.Decrement(ref _commandsRunning);
        }
    }

    private void RunCommands()
    {
        int log2 = (int)QueueBaseFields.Log2Size.Get(_cmdqBase);
        uint mask = (1u << log2) - 1, both = (2u << log2) - 1;
        ulong baseHpa = _cmdqBase & QueueBaseFields.Address.Mask;
        while ((_cmdqCons & both) != (_cmdqProd & both))
        {
            ulong at = baseHpa + (_cmdqCons & mask) * (ulong)SmmuCommand.Size;
            uint error = _memory.Contains(at, SmmuCommand.Size)
                ? Execute(_memory.ReadUInt64(at), _memory.ReadUInt64(at + 8))
                : CmdqConsFields.CommandAbort;
            if (error == Stalled)
                return;
            if (error != 0)
            {
                _cmdqCons = (uint)CmdqConsFields.Error.With(_cmdqCons, error);
                _gerror ^= (uint)GerrorFields.CommandQueueError.Mask;
                return;
            }
            _cmdqCons = (_cmdqCons & ~both) | ((_cmdqCons + 1) & both);
            Interlocked.Increment(ref _commandsExecuted);
        }
    }

    /// <summary>Executes one command; returns the CMDQ_CONS.ERR code, or 0.</summary>
    private uint Execute(ulong w0, ulong w1)
    {
        uint sid = (uint)SmmuCommand.StreamId.Get(w0);
        ushort vmid = (ushort)SmmuCommand.Vmid.Get(w0);
        switch ((int)SmmuCommand.Opcode.Get(w0))
        {
            case SmmuCommand.PrefetchConfig:
            case SmmuCommand.PrefetchAddress:
                return 0; // hints
            case SmmuCommand.CfgiSte:
                InvalidateStreams(sid, sid);
                NoteConfigInvalidation(streams: true);
                return 0;
            case SmmuCommand.CfgiSteRange:
            {
                int range = (int)SmmuCommand.Range.Get(w1);
                if (range >= 31)
                {
                    InvalidateStreams(0, uint.MaxValue); // CMD_CFGI_ALL
                    NoteConfigInvalidation(streams: true);
                    return 0;
                }
                uint span = 2u << range;
                uint first = sid & ~(span - 1);
                InvalidateStreams(first, first + span - 1);
                NoteConfigInvalidation(streams: true);
                return 0;
            }
            case SmmuCommand.CfgiCd:
                InvalidateCd(sid, (uint)SmmuCommand.SubstreamId.Get(w0));
                NoteConfigInvalidation(streams: false);
                return 0;
            case SmmuCommand.CfgiCdAll:
                InvalidateCd(sid, null);
                NoteConfigInvalidation(streams: false);
                return 0;
            case SmmuCommand.TlbiNhAll:
            case SmmuCommand.TlbiS12Vmall:
                // Every ASID of the VMID: stage 1 tags mix the ASID into the part the TLB selects by, so all go.
                BeginInvalidation();
                _tlb.InvalidateAll();
                NoteTlbInvalidation(null);
                return 0;
            case SmmuCommand.TlbiNhAsid:
                BeginInvalidation();
                ulong asidTag = Stage1Tag(vmid, (ushort)SmmuCommand.Asid.Get(w0));
                _tlb.InvalidatePasid((ushort)(asidTag >> 32), (uint)asidTag);
                NoteTlbInvalidation(Stage1Key(vmid, (ushort)SmmuCommand.Asid.Get(w0)));
                return 0;
            case SmmuCommand.TlbiNhVa:
                BeginInvalidation();
                ulong vaTag = Stage1Tag(vmid, (ushort)SmmuCommand.Asid.Get(w0));
                (ulong vaFirst, ulong vaLast) = TlbiRange(w0, w1, w1 & SmmuCommand.Address.Mask & 0x000F_FFFF_FFFF_F000UL);
                _tlb.InvalidateRange((ushort)(vaTag >> 32), (uint)vaTag, vaFirst, vaLast);
                NoteTlbInvalidation(Stage1Key(vmid, (ushort)SmmuCommand.Asid.Get(w0)));
                return 0;
            case SmmuCommand.TlbiS2Ipa:
                BeginInvalidation();
                (ulong ipaFirst, ulong ipaLast) = TlbiRange(w0, w1, w1 & 0x000F_FFFF_FFFF_F000UL);
                _tlb.InvalidateRange(vmid, Iotlb.NoPasid, ipaFirst, ipaLast);
                NoteTlbInvalidation(Stage2Key(vmid));
                return 0;
            case SmmuCommand.TlbiNsnhAll:
                BeginInvalidation();
                _tlb.InvalidateAll();
                NoteTlbInvalidation(null);
                return 0;
            case SmmuCommand.AtcInv:
                return AtcInvalidate(w0, w1);
            case SmmuCommand.Sync:
                // Every earlier command is done (they run in order), ATS invalidation requests included: while one is
                // unanswered the CMD_SYNC stays at CONS; one given up fails it with CERROR_ATC_INV_SYNC.
                if (_atc.StallIfOutstanding())
                    return Stalled;
                if (_atcInvalidationFailed)
                {
                    _atcInvalidationFailed = false; // reported once: after the acknowledgement the CMD_SYNC runs again and completes
                    return CmdqConsFields.AtcInvalidationSync;
                }
                // CS = SIG_IRQ: the MSI write where MSIs exist, then the interrupt.
                if (SmmuCommand.SyncCompletionSignal.Get(w0) == 1)
                {
                    ulong msiAddress = w1 & SmmuCommand.SyncMsiAddress.Mask;
                    if (msiAddress != 0 && Idr0Fields.Msi.IsSet(Options.Idr0))
                        WriteMsi(msiAddress, (uint)SmmuCommand.SyncMsiData.Get(w0));
                    _pendingSync = true;
                }
                return 0;
            default:
                return CmdqConsFields.IllegalCommand; // an opcode this SMMU does not know
        }
    }

    private void WriteMsi(ulong address, uint data)
    {
        ulong qword = address & ~7UL;
        if (!_memory.Contains(qword, 8))
            return;
        int shift = (int)(address & 4) * 8;
        ulong old, updated;
        do
        {
            old = _memory.ReadUInt64(qword);
            updated = (old & ~(0xFFFF_FFFFUL << shift)) | (ulong)data << shift;
        }
        while (_memory.CompareExchangeUInt64(qword, updated, old) != old);
    }

    /// <summary>Raises the invalidation sequence (a full fence) before anything is cleared: fills that read the tables
    /// before it are dropped.</summary>
    private void BeginInvalidation() => Interlocked.Increment(ref _invalidationSequence);

    private void InvalidateStreams(uint first, uint last)
    {
        BeginInvalidation();
        uint end = Math.Min(last, (uint)_streams.Length - 1);
        for (uint sid = first; sid <= end && sid >= first; sid++)
        {
            Volatile.Write(ref _streams[sid], null);
            if (sid == uint.MaxValue)
                break;
        }
    }

    private void InvalidateCd(uint sid, uint? ssid)
    {
        BeginInvalidation();
        if (sid >= (uint)_streams.Length || Volatile.Read(ref _streams[sid]) is not { } stream)
            return;
        if (ssid is uint one)
        {
            stream.Remove(one);
            if (one == 0)
                stream.Remove(NoSubstreamKey); // transactions without SubstreamID may use CD 0
        }
        else
        {
            stream.Clear();
        }
    }

    /// <summary>The addresses a CMD_TLBI_NH_VA or CMD_TLBI_S2_IPA covers: with range invalidation (SMMU_IDR3.RIL) and a
    /// nonzero TG, (NUM + 1) * 2^SCALE translation granules of TG's size from the address (IHI 0070, 4.4.1.1); otherwise the
    /// address's page (TG 0, or an SMMU without RIL, where the range fields are ignored). The range is capped at the end
    /// of the address space.</summary>
    private (ulong First, ulong Last) TlbiRange(ulong w0, ulong w1, ulong address)
    {
        ulong tg = SmmuCommand.TlbiGranule.Get(w1);
        if (tg == 0 || !SmmuRegisters.Idr3Fields.RangeInvalidation.IsSet(Options.Idr3))
            return (address, address | 0xFFF);
        int granuleShift = 12 + 2 * (int)(tg - 1);
        int shift = granuleShift + (int)SmmuCommand.TlbiScale.Get(w0);
        ulong granules = SmmuCommand.TlbiNum.Get(w0) + 1;
        ulong first = address & ~((1UL << granuleShift) - 1);
        // (NUM + 1) << (SCALE + granule) bytes: up to 32 * 2^47 with 64 KiB granules, so the end may pass 2^64.
        ulong length = shift >= 59 ? ulong.MaxValue : granules << shift;
        ulong last = length > ulong.MaxValue - first ? ulong.MaxValue : first + length - 1;
        return (first, last);
    }
}
