using static Siov.Fast.Hardware.SmmuV3.SmmuRegisters;

namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>The SMMU's registers (Arm IHI 0070, chapter 6) through <see cref="IMmioRegion"/>.</summary>
public sealed partial class Smmu : IMmioRegion
{
    private readonly Lock _registerLock = new();
    private uint _cr0, _cr1, _cr2, _irqCtrl, _gerror, _gerrorn;
    private uint _gbpa = (uint)GbpaFields.Abort.Encode(1); // reset: abort until software says otherwise
    private ulong _strtabBase, _cmdqBase, _eventqBase;
    private uint _strtabBaseCfg, _cmdqProd, _cmdqCons, _eventqProd, _eventqCons;

    /// <summary>Raised when a CMD_SYNC with CS = SIG_IRQ completes (after its MSI write, if any). No lock is held.</summary>
    public event EventHandler? SyncCompleted;

    /// <summary>Raised when an event is written to the event queue. No lock is held.</summary>
    public event EventHandler? EventRecorded;

    private volatile bool _pendingSync, _pendingEvent;

    /// <summary>CR0ACK.SMMUEN: translation is on.</summary>
    public bool Enabled => Cr0Fields.SmmuEnable.IsSet(_cr0);

    /// <inheritdoc/>
    public ulong Read(ulong offset, int size)
    {
        CheckAccess(offset, size);
        lock (_registerLock)
        {
            if (size == 8)
                return ReadDword(offset) | (ulong)ReadDword(offset + 4) << 32;
            return ReadDword(offset);
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, int size, ulong value)
    {
        CheckAccess(offset, size);
        try
        {
            lock (_registerLock)
            {
                if (size == 8 && offset is StrtabBase or CmdqBase or EventqBase)
                {
                    WriteQword(offset, value);
                    return;
                }
                WriteDword(offset, (uint)value);
                if (size == 8)
                    WriteDword(offset + 4, (uint)(value >> 32));
            }
        }
        finally
        {
            DeliverEvents();
        }
    }

    private void DeliverEvents()
    {
        if (_registerLock.IsHeldByCurrentThread)
            return; // a nested access: the outermost one delivers
        _atc.SendQueued();
        if (_pendingEvent)
        {
            _pendingEvent = false;
            EventRecorded?.Invoke(this, EventArgs.Empty);
        }
        if (_pendingSync)
        {
            _pendingSync = false;
            SyncCompleted?.Invoke(this, EventArgs.Empty);
        }
    }

    private static void CheckAccess(ulong offset, int size)
    {
        if (size is not (4 or 8))
            Throw.Iommu(Errno.EINVAL, $"MMIO access of {size} bytes: SMMU registers take 4- or 8-byte accesses");
        if (offset % (ulong)size != 0 || offset > RegionSize - (ulong)size)
            Throw.Iommu(Errno.EINVAL, $"MMIO access of {size} bytes at {Throw.Hex(offset)}: unaligned or outside the {RegionSize:x}-byte register region");
    }

    private uint ReadDword(ulong offset) => offset switch
    {
        Idr0 => Options.Idr0,
        Idr1 => Options.Idr1,
        Idr3 => Options.Idr3,
        Idr5 => Options.Idr5,
        Iidr => 0x0000_043B, // implementer Arm (0x43B), revision 0
        Aidr => 0,
        Cr0 or Cr0Ack => _cr0,
        Cr1 => _cr1,
        Cr2 => _cr2,
        Gbpa => _gbpa,
        IrqCtrl or IrqCtrlAck => _irqCtrl,
        Gerror => _gerror,
        Gerrorn => _gerrorn,
        StrtabBase => (uint)_strtabBase,
        StrtabBase + 4 => (uint)(_strtabBase >> 32),
        StrtabBaseCfg => _strtabBaseCfg,
        CmdqBase => (uint)_cmdqBase,
        CmdqBase + 4 => (uint)(_cmdqBase >> 32),
        CmdqProd => _cmdqProd,
        CmdqCons => _cmdqCons,
        EventqBase => (uint)_eventqBase,
        EventqBase + 4 => (uint)(_eventqBase >> 32),
        EventqProd => _eventqProd,
        EventqCons => _eventqCons,
        _ => 0,
    };

    private void WriteQword(ulong offset, ulong value)
    {
        switch (offset)
        {
            case StrtabBase:
                _strtabBase = value & (StrtabBaseFields.Address.Mask | StrtabBaseFields.ReadAllocate.Mask);
                break;
            case CmdqBase:
                _cmdqBase = value & (QueueBaseFields.Address.Mask | QueueBaseFields.Log2Size.Mask | QueueBaseFields.Allocate.Mask);
                break;
            case EventqBase:
                _eventqBase = value & (QueueBaseFields.Address.Mask | QueueBaseFields.Log2Size.Mask | QueueBaseFields.Allocate.Mask);
                break;
        }
    }

    private void WriteDword(ulong offset, uint value)
    {
        switch (offset)
        {
            case Cr0:
                // CR0ACK follows at once; enabling the command queue runs what is waiting in it.
                bool commandsOn = !Cr0Fields.CommandQueueEnable.IsSet(_cr0) && Cr0Fields.CommandQueueEnable.IsSet(value);
                if (Cr0Fields.SmmuEnable.IsSet(_cr0) != Cr0Fields.SmmuEnable.IsSet(value))
                {
                    // What was cached while translating must not answer once SMMUEN is clear (GBPA decides then), nor
                    // the other way round: the caches are emptied as the SMMU turns on or off.
                    BeginInvalidation();
                    InvalidateStreams(0, uint.MaxValue);
                    _tlb.InvalidateAll();
                }
                _cr0 = value & 0x1F;
                if (commandsOn)
                    ProcessCommands();
                break;
            case Cr1:
                _cr1 = value;
                break;
            case Cr2:
                _cr2 = value;
                break;
            case Gbpa:
                if (GbpaFields.Update.IsSet(value))
                    _gbpa = value & ~(uint)GbpaFields.Update.Mask; // takes effect at once: UPDATE reads 0
                break;
            case IrqCtrl:
                _irqCtrl = value & 7;
                break;
            case Gerrorn:
                bool acknowledged = ((_gerror ^ _gerrorn) & (uint)GerrorFields.CommandQueueError.Mask) != 0
                    && ((_gerror ^ value) & (uint)GerrorFields.CommandQueueError.Mask) == 0;
                _gerrorn = value;
                if (acknowledged)
                {
                    // Software fixed the command at CONS: the queue goes on from there.
                    _cmdqCons = (uint)CmdqConsFields.Error.With(_cmdqCons, 0);
                    ProcessCommands();
                }
                break;
            case StrtabBase:
                _strtabBase = (_strtabBase & 0xFFFF_FFFF_0000_0000UL) | (value & (uint)StrtabBaseFields.Address.Mask);
                break;
            case StrtabBase + 4:
                _strtabBase = (_strtabBase & 0xFFFF_FFFFUL) | ((ulong)value << 32 & (StrtabBaseFields.Address.Mask | StrtabBaseFields.ReadAllocate.Mask));
                break;
            case StrtabBaseCfg:
                _strtabBaseCfg = value & (uint)(StrtabBaseCfgFields.Log2Size.Mask | StrtabBaseCfgFields.Split.Mask | StrtabBaseCfgFields.Format.Mask);
                break;
            case CmdqBase:
            case EventqBase:
            {
                ref ulong b = ref offset == CmdqBase ? ref _cmdqBase : ref _eventqBase;
                b = (b & 0xFFFF_FFFF_0000_0000UL) | (value & (uint)(QueueBaseFields.Address.Mask | QueueBaseFields.Log2Size.Mask));
                break;
            }
            case CmdqBase + 4:
            case EventqBase + 4:
            {
                ref ulong b = ref offset == CmdqBase + 4 ? ref _cmdqBase : ref _eventqBase;
                b = (b & 0xFFFF_FFFFUL) | ((ulong)value << 32 & (QueueBaseFields.Address.Mask | QueueBaseFields.Allocate.Mask));
                break;
            }
            case CmdqProd:
                _cmdqProd = value & IndexMask(_cmdqBase);
                ProcessCommands();
                break;
            case EventqCons:
                _eventqCons = value & (IndexMask(_eventqBase) | (uint)EventqIndexFields.Overflow.Mask);
                break;
            default:
                break; // read-only or reserved
        }
    }

    /// <summary>The index bits of a queue's PROD/CONS: LOG2SIZE bits and the wrap bit above them.</summary>
    private static uint IndexMask(ulong queueBase) => (2u << (int)QueueBaseFields.Log2Size.Get(queueBase)) - 1;
}
