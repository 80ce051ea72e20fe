using Siov.Fast.PageTables;
using static Siov.Fast.Hardware.Vtd.VtdRegisters;

using FrcdFields = Siov.Fast.Hardware.Vtd.VtdRegisters.FaultRecord;

namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// The unit's registers (VT-d spec chapter 10/11), through <see cref="IMmioRegion"/>: GCMD/GSTS (SRTP, TE, QIE,
/// WBF), RTADDR, CCMD and the IOTLB registers for register-based invalidation, the invalidation queue
/// (IQH, IQT, IQA, ICS, IECTL, IQERCD) and its descriptors, the fault recording registers (FRCD at CAP.FRO,
/// CAP.NFR of them) with FSTS and FECTL/FEDATA/FEADDR/FEUADDR, and the page request queue (PQH, PQT, PQA, PRS,
/// PECTL; see <see cref="SendPageRequest"/>).
/// </summary>
public sealed partial class RemappingUnit : IMmioRegion
{
    private const uint VersionValue = 0x10; // VER_REG 1.0, what units of every generation report

    private readonly Lock _registerLock = new();
    private readonly ulong[] _faultRecords; // FRCD: two words per record
    private volatile bool _translationEnabled;
    private volatile bool _pendingFaultEvent, _pendingCompletionEvent; // raised under the register lock, delivered after it
    private uint _globalStatus;
    private ulong _rootTableAddressRegister;
    private ulong _contextCommand;
    private ulong _invalidateAddress;
    private ulong _iotlbCommand;
    private uint _faultStatus;                 // PFO, IQE, ICE, ITE and FRI; PPF is computed
    private uint _faultEventControl = 1u << 31; // IM set at reset
    private uint _faultEventData;
    private ulong _faultEventAddress;
    private ulong _queueHead;
    private ulong _queueTail;
    private ulong _queueAddress;
    private uint _completionStatus;
    private uint _invalidationEventControl = 1u << 31;
    private uint _invalidationEventData;
    private ulong _invalidationEventAddress;
    private ulong _queueErrorRecord;
    private ulong _pageRequestQueueHead, _pageRequestQueueTail, _pageRequestQueueAddress;
    private uint _pageRequestStatus, _pageRequestEventControl = 1u << 31;

    /// <summary>Raised when a fault is recorded in the fault recording registers (or the log overflows) while
    /// FECTL_REG.IM is clear, or when software clears IM with an event pending (FECTL_REG.IP). Handlers run on
    /// the thread that faulted or wrote FECTL; they must not call back into translation.</summary>
    public event EventHandler<FaultEventInfo>? FaultEvent;

    /// <summary>Raised when an invalidation wait descriptor with IF set completes while IECTL_REG.IM is clear.</summary>
    public event EventHandler? InvalidationCompletionEvent;

    /// <summary>True while GSTS_REG.TES is set: DMA is remapped. When clear, DMA passes through untranslated.</summary>
    public bool TranslationEnabled => _translationEnabled;

    /// <summary>Offset of the fault recording registers (CAP_REG.FRO * 16).</summary>
    public ulong FaultRecordingOffset => (ulong)Capability.FaultRecordingRegisterOffset * 16;

    /// <summary>Offset of IVA_REG (ECAP_REG.IRO * 16); IOTLB_REG follows it at + 8.</summary>
    public ulong IotlbRegistersOffset => (ulong)ExtendedCapability.IotlbRegisterOffset * 16;

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
            WriteLocked(offset, size, value);
        }
        finally
        {
            DeliverEvents();
        }
    }

    /// <summary>Interrupts raised during a register access are delivered after it, with no lock of the unit held, so
    /// a handler (the driver's) may access the registers again, from any thread, without lock-order trouble.</summary>
    private void DeliverEvents()
    {
        if (_registerLock.IsHeldByCurrentThread)
            return; // a nested access: the outermost one delivers
        _atc.SendQueued();
        DeliverPageRequestEvent();
        if (_pendingFaultEvent)
        {
            _pendingFaultEvent = false;
            FaultEvent?.Invoke(this, new FaultEventInfo(FaultStatusValue(), _faultEventData, _faultEventAddress));
        }
        if (_pendingCompletionEvent)
        {
            _pendingCompletionEvent = false;
            InvalidationCompletionEvent?.Invoke(this, EventArgs.Empty);
        }
    }

    private void WriteLocked(ulong offset, int size, ulong value)
    {
        lock (_registerLock)
        {
            if (size == 8 && IsQwordRegister(offset))
            {
                WriteQword(offset, value, ulong.MaxValue);
                return;
            }
            if (size == 8)
            {
                WriteDword(offset, (uint)value);
                WriteDword(offset + 4, (uint)(value >> 32));
                return;
            }
            WriteDword(offset, (uint)value);
        }
    }

    private static void CheckAccess(ulong offset, int size)
    {
        if (size is not (4 or 8))
            Throw.Iommu(Errno.EINVAL, $"MMIO access of {size} bytes: VT-d registers take 4- or 8-byte accesses");
        if (offset % (ulong)size != 0 || offset > RegionSize - (ulong)size)
            Throw.Iommu(Errno.EINVAL, $"MMIO access of {size} bytes at {Throw.Hex(offset)}: unaligned or outside the {RegionSize:x}-byte register region");
    }

    private bool IsFaultRecord(ulong offset, out int index, out int word)
    {
        ulong start = FaultRecordingOffset, end = start + (ulong)_faultRecords.Length * 8;
        bool inside = offset >= start && offset < end;
        index = inside ? (int)((offset - start) / 16) : -1;
        word = inside ? (int)((offset - start) / 8 % 2) : -1;
        return inside;
    }

    private bool IsQwordRegister(ulong offset) =>
        offset is CapabilityOffset or ExtendedCapabilityOffset or RootTableAddressOffset or ContextCommandOffset or InvalidationQueueHeadOffset
            or InvalidationQueueTailOffset or InvalidationQueueAddressOffset or InvalidationQueueErrorRecordOffset
            or PageRequestQueueHeadOffset or PageRequestQueueTailOffset or PageRequestQueueAddressOffset
        || offset == IotlbRegistersOffset || offset == IotlbRegistersOffset + 8 || IsFaultRecord(offset, out _, out _);

    /// <summary>The 32-bit half of a register at <paramref name="offset"/> (4-byte aligned).</summary>
    private uint ReadDword(ulong offset)
    {
        ulong qword = offset & ~7UL;
        bool high = (offset & 4) != 0;
        if (IsQwordRegister(qword))
        {
            ulong value = ReadQword(qword);
            return high ? (uint)(value >> 32) : (uint)value;
        }
        return offset switch
        {
            VersionOffset => VersionValue,
            GlobalStatusOffset => _globalStatus,
            FaultStatusOffset => FaultStatusValue(),
            FaultEventControlOffset => _faultEventControl,
            FaultEventDataOffset => _faultEventData,
            FaultEventAddressOffset => (uint)_faultEventAddress,
            FaultEventUpperAddressOffset => (uint)(_faultEventAddress >> 32),
            InvalidationCompletionStatusOffset => _completionStatus,
            InvalidationEventControlOffset => _invalidationEventControl,
            InvalidationEventDataOffset => _invalidationEventData,
            InvalidationEventAddressOffset => (uint)_invalidationEventAddress,
            InvalidationEventUpperAddressOffset => (uint)(_invalidationEventAddress >> 32),
            PageRequestStatusOffset => _pageRequestStatus,
            PageRequestEventControlOffset => _pageRequestEventControl,
            _ => 0, // GCMD reads 0; reserved offsets read 0
        };
    }

    private ulong ReadQword(ulong offset)
    {
        if (IsFaultRecord(offset, out int index, out int word))
        {
            lock (_faultRecords)
                return _faultRecords[index * 2 + word];
        }
        if (offset == IotlbRegistersOffset)
            return _invalidateAddress;
        if (offset == IotlbRegistersOffset + 8)
            return _iotlbCommand;
        return offset switch
        {
            CapabilityOffset => Capability.Encode(),
            ExtendedCapabilityOffset => ExtendedCapability.Encode(),
            RootTableAddressOffset => _rootTableAddressRegister,
            ContextCommandOffset => _contextCommand,
            InvalidationQueueHeadOffset => _queueHead,
            InvalidationQueueTailOffset => _queueTail,
            InvalidationQueueAddressOffset => _queueAddress,
            InvalidationQueueErrorRecordOffset => _queueErrorRecord,
            PageRequestQueueHeadOffset => _pageRequestQueueHead,
            PageRequestQueueTailOffset => _pageRequestQueueTail,
            PageRequestQueueAddressOffset => _pageRequestQueueAddress,
            _ => 0,
        };
    }

    private void WriteDword(ulong offset, uint value)
    {
        ulong qword = offset & ~7UL;
        if (IsQwordRegister(qword))
        {
            // Half of a 64-bit register: the other half keeps its value; commands act on the write of the
            // half that holds their trigger bit (ICC, IVT: the high half; IQT: the low half).
            bool high = (offset & 4) != 0;
            WriteQword(qword, high ? (ulong)value << 32 : value, high ? 0xFFFF_FFFF_0000_0000UL : 0xFFFF_FFFFUL);
            return;
        }
        switch (offset)
        {
            case GlobalCommandOffset:
                GlobalCommandWrite(value);
                break;
            case FaultStatusOffset:
                FaultStatusWrite(value);
                break;
            case FaultEventControlOffset:
                FaultEventControlWrite(value);
                break;
            case FaultEventDataOffset:
                _faultEventData = value;
                break;
            case FaultEventAddressOffset:
                _faultEventAddress = (_faultEventAddress & 0xFFFF_FFFF_0000_0000UL) | (value & ~3u);
                break;
            case FaultEventUpperAddressOffset:
                _faultEventAddress = (_faultEventAddress & 0xFFFF_FFFFUL) | (ulong)value << 32;
                break;
            case InvalidationCompletionStatusOffset:
                _completionStatus &= ~(value & 1); // IWC: write 1 to clear
                break;
            case InvalidationEventControlOffset:
                _invalidationEventControl = (value & (1u << 31)) | (_invalidationEventControl & (1u << 30));
                if ((value & (1u << 31)) == 0 && (_invalidationEventControl & (1u << 30)) != 0)
                {
                    _invalidationEventControl &= ~(1u << 30);
                    _pendingCompletionEvent = true;
                }
                break;
            case InvalidationEventDataOffset:
                _invalidationEventData = value;
                break;
            case InvalidationEventAddressOffset:
                _invalidationEventAddress = (_invalidationEventAddress & 0xFFFF_FFFF_0000_0000UL) | (value & ~3u);
                break;
            case InvalidationEventUpperAddressOffset:
                _invalidationEventAddress = (_invalidationEventAddress & 0xFFFF_FFFFUL) | (ulong)value << 32;
                break;
            case PageRequestStatusOffset:
                _pageRequestStatus &= ~(value & 3); // PPR and PRO: write 1 to clear
                break;
            case PageRequestEventControlOffset:
                _pageRequestEventControl = (value & (1u << 31)) | (_pageRequestEventControl & (1u << 30));
                if ((value & (1u << 31)) == 0 && (_pageRequestEventControl & (1u << 30)) != 0)
                {
                    _pageRequestEventControl &= ~(1u << 30);
                    _pendingPageRequestEvent = true;
                }
                break;
            default:
                break; // read-only (VER, GSTS) or reserved: the write is dropped
        }
    }

    /// <summary>Writes the bits of <paramref name="mask"/> of a 64-bit register.</summary>
    private void WriteQword(ulong offset, ulong value, ulong mask)
    {
        if (IsFaultRecord(offset, out int index, out int word))
        {
            // FRCD: only F (bit 127) is writable, and writing 1 clears it.
            if (word == 1 && (mask & value & FrcdFields.Fault.Mask) != 0)
            {
                lock (_faultRecords)
                    _faultRecords[index * 2 + 1] &= ~FrcdFields.Fault.Mask;
            }
            return;
        }
        ulong Merge(ulong old) => (old & ~mask) | (value & mask);
        if (offset == IotlbRegistersOffset)
        {
            _invalidateAddress = Merge(_invalidateAddress) & (InvalidateAddress.Address.Mask | InvalidateAddress.InvalidationHint.Mask | InvalidateAddress.AddressMask.Mask);
            return;
        }
        if (offset == IotlbRegistersOffset + 8)
        {
            ulong writable = IotlbInvalidate.Invalidate.Mask | IotlbInvalidate.RequestGranularity.Mask | IotlbInvalidate.DrainReads.Mask
                | IotlbInvalidate.DrainWrites.Mask | IotlbInvalidate.DomainId.Mask;
            _iotlbCommand = (_iotlbCommand & ~(mask & writable)) | (value & mask & writable);
            if ((mask & IotlbInvalidate.Invalidate.Mask) != 0 && IotlbInvalidate.Invalidate.IsSet(_iotlbCommand))
                RegisterIotlbInvalidation();
            return;
        }
        switch (offset)
        {
            case RootTableAddressOffset:
                _rootTableAddressRegister = Merge(_rootTableAddressRegister) & (RootTableAddressRegister.Address.Mask | RootTableAddressRegister.TranslationTableMode.Mask);
                break;
            case ContextCommandOffset:
            {
                ulong writable = ContextCommand.InvalidateContextCache.Mask | ContextCommand.RequestGranularity.Mask
                    | ContextCommand.FunctionMask.Mask | ContextCommand.SourceId.Mask | ContextCommand.DomainId.Mask;
                _contextCommand = (_contextCommand & ~(mask & writable)) | (value & mask & writable);
                if ((mask & ContextCommand.InvalidateContextCache.Mask) != 0 && ContextCommand.InvalidateContextCache.IsSet(_contextCommand))
                    RegisterContextInvalidation();
                break;
            }
            case InvalidationQueueTailOffset:
                _queueTail = Merge(_queueTail) & QueueOffset.Mask;
                if ((mask & QueueOffset.Mask) != 0)
                    ProcessInvalidationQueue();
                break;
            case InvalidationQueueAddressOffset:
                _queueAddress = Merge(_queueAddress) & (InvalidationQueueAddress.Address.Mask | InvalidationQueueAddress.DescriptorWidth.Mask
                    | InvalidationQueueAddress.QueueSize.Mask);
                break;
            case PageRequestQueueHeadOffset:
                _pageRequestQueueHead = Merge(_pageRequestQueueHead) & 0x7FFE0UL;
                break;
            case PageRequestQueueTailOffset:
                break; // PQT_REG belongs to the hardware
            case PageRequestQueueAddressOffset:
                _pageRequestQueueAddress = Merge(_pageRequestQueueAddress) & 0xFFFF_FFFF_FFFF_F007UL;
                break;
            default:
                break; // CAP, ECAP, IQH, IQERCD: read-only
        }
    }

    /// <summary>GCMD_REG: software writes every command bit it wants on (the current ones from GSTS plus the new one).</summary>
    private void GlobalCommandWrite(uint command)
    {
        ulong c = command;
        if (GlobalCommand.SetRootTablePointer.IsSet(c))
            LatchRootTable();
        bool wantTranslation = GlobalCommand.TranslationEnable.IsSet(c);
        if (wantTranslation != _translationEnabled)
            SetTranslationEnabled(wantTranslation);
        bool wantQueue = GlobalCommand.QueuedInvalidationEnable.IsSet(c) && ExtendedCapability.QueuedInvalidation;
        bool queueOn = GlobalCommand.QueuedInvalidationEnable.IsSet(_globalStatus);
        if (wantQueue && !queueOn)
        {
            _queueHead = 0; // enabling the queue resets its head
            _globalStatus |= (uint)GlobalCommand.QueuedInvalidationEnable.Mask;
        }
        else if (!wantQueue && queueOn)
        {
            _globalStatus &= ~(uint)GlobalCommand.QueuedInvalidationEnable.Mask;
        }
        // WBF completes at once (no write buffer is modelled); SFL, EAFL, IRE, SIRTP and CFI name features
        // the capability registers do not advertise: their status bits stay clear.
    }

    private void LatchRootTable()
    {
        ulong register = _rootTableAddressRegister;
        ulong mode = RootTableAddressRegister.TranslationTableMode.Get(register);
        ulong root = register & RootTableAddressRegister.Address.Mask;
        lock (_programLock)
        {
            _rootTable = root;
            IsScalableMode = mode == 1 && ExtendedCapability.ScalableMode;
            PasidWidth = IsScalableMode && ExtendedCapability.Pasid ? Math.Min(ExtendedCapability.PasidWidth, 20) : 0;
            // Entries cached from the old root table must not outlive it (real units leave this to the
            // driver's global invalidations; dropping them keeps the model's caches consistent with one mode).
            BeginInvalidation(ref _contextInvalidations);
            DropContexts(_ => true);
            _iotlb.InvalidateAll();
            NoteGlobalInvalidation();
        }
        _globalStatus |= (uint)GlobalCommand.SetRootTablePointer.Mask;
    }

    private void SetTranslationEnabled(bool enabled)
    {
        lock (_programLock)
        {
            // Caches filled while translation was on must not serve requests once it is off, nor the
            // other way round: every cached entry goes (translation only fills them while enabled).
            BeginInvalidation(ref _contextInvalidations);
            _translationEnabled = enabled;
            DropContexts(_ => true);
            _iotlb.InvalidateAll();
            NoteGlobalInvalidation();
        }
        if (enabled)
            _globalStatus |= (uint)GlobalCommand.TranslationEnable.Mask;
        else
            _globalStatus &= ~(uint)GlobalCommand.TranslationEnable.Mask;
    }

    /// <summary>CCMD_REG.ICC: context-cache invalidation at CIRG's granularity; CAIG reports it, ICC clears.</summary>
    private void RegisterContextInvalidation()
    {
        ulong command = _contextCommand;
        ulong granularity = ContextCommand.RequestGranularity.Get(command);
        ulong actual = granularity;
        if (GlobalCommand.QueuedInvalidationEnable.IsSet(_globalStatus))
            actual = 0; // register-based invalidation is not available while the queue is enabled
        else if (granularity == 1)
            InvalidateContextCache();
        else if (granularity == 2)
            InvalidateContextCacheDomain((ushort)ContextCommand.DomainId.Get(command));
        else if (granularity == 3)
            InvalidateContextCacheDevices((ushort)ContextCommand.SourceId.Get(command), (int)ContextCommand.FunctionMask.Get(command));
        _contextCommand = ContextCommand.ActualGranularity.With(command & ~ContextCommand.InvalidateContextCache.Mask, actual);
    }

    /// <summary>IOTLB_REG.IVT: IOTLB invalidation at IIRG's granularity (page: IVA_REG); IAIG reports it, IVT clears.</summary>
    private void RegisterIotlbInvalidation()
    {
        ulong command = _iotlbCommand;
        ulong granularity = IotlbInvalidate.RequestGranularity.Get(command);
        ushort did = (ushort)IotlbInvalidate.DomainId.Get(command);
        ulong actual = granularity;
        if (GlobalCommand.QueuedInvalidationEnable.IsSet(_globalStatus))
            actual = 0;
        else if (granularity == 1)
            InvalidateIotlb();
        else if (granularity == 2)
            InvalidateIotlbDomain(did);
        else if (granularity == 3)
        {
            int mask = (int)InvalidateAddress.AddressMask.Get(_invalidateAddress);
            if (!Capability.PageSelectiveInvalidation || mask > Capability.MaximumAddressMaskValue)
            {
                InvalidateIotlbDomain(did); // what a unit without (enough) page-selective invalidation does
                actual = 2;
            }
            else
            {
                ulong address = _invalidateAddress & InvalidateAddress.Address.Mask;
                InvalidateIotlbPages(did, null, address >> (VtdPaging.PageShift + mask) << (VtdPaging.PageShift + mask), mask);
            }
        }
        _iotlbCommand = IotlbInvalidate.ActualGranularity.With(command & ~IotlbInvalidate.Invalidate.Mask, actual);
    }

    private void InvalidateContextCacheDevices(ushort sourceId, int functionMask)
    {
        // FM masks the low 1, 2 or 3 bits of the function number.
        int masked = functionMask switch { 1 => 0b100, 2 => 0b110, 3 => 0b111, _ => 0 };
        ushort first = (ushort)(sourceId & ~masked);
        for (int f = 0; f <= masked; f++)
        {
            if ((f & ~masked) == 0)
                InvalidateContextCacheDevice((ushort)(first | f));
        }
    }

    /// <summary>Runs the descriptors from IQH to IQT; stops at a malformed one with FSTS.IQE and IQERCD set.</summary>
    private void ProcessInvalidationQueue()
    {
        if (!GlobalCommand.QueuedInvalidationEnable.IsSet(_globalStatus) || FaultStatus.InvalidationQueueError.IsSet(_faultStatus)
            || FaultStatus.InvalidationTimeoutError.IsSet(_faultStatus) || _atc.Stalled)
            return;
        (ulong baseHpa, ulong descriptorBytes, ulong queueBytes) = QueueGeometry();
        bool wide = descriptorBytes == 32;
        ulong tail = _queueTail & QueueOffset.Mask;
        if (tail >= queueBytes)
        {
            StopQueue(InvalidationQueueError.TailBeyondQueue);
            return;
        }
        if (wide && (tail & 16) != 0)
        {
            StopQueue(InvalidationQueueError.TailMisaligned);
            return;
        }
        Span<ulong> words = stackalloc ulong[4];
        while (_queueHead != tail)
        {
            ulong at = baseHpa + _queueHead;
            if (!_memory.Contains(at, descriptorBytes))
            {
                StopQueue(InvalidationQueueError.FetchFailed);
                return;
            }
            for (int i = 0; i < (int)(descriptorBytes / 8); i++)
                words[i] = _memory.ReadUInt64(at + (ulong)i * 8);
            InvalidationQueueError error = ExecuteDescriptor(words[..(int)(descriptorBytes / 8)]);
            if (error != InvalidationQueueError.None)
            {
                StopQueue(error);
                return;
            }
            if (_atc.Stalled)
                return; // a wait for device-TLB answers: IQH stays on it until they come
            _queueHead = (_queueHead + descriptorBytes) % queueBytes;
        }
    }

    private void StopQueue(InvalidationQueueError error)
    {
        bool newEvent;
        lock (_faultRecords)
        {
            newEvent = (StatusLocked() & EventStatusBits) == 0;
            _faultStatus |= (uint)FaultStatus.InvalidationQueueError.Mask;
        }
        _queueErrorRecord = QueueErrorInfo.With(_queueErrorRecord, (ulong)error);
        if (newEvent)
            RaiseFaultEvent();
    }

    /// <summary>Executes one descriptor; returns why it is malformed, or None.</summary>
    private InvalidationQueueError ExecuteDescriptor(ReadOnlySpan<ulong> d)
    {
        ulong w0 = d[0], w1 = d[1];
        if (d.Length == 4 && (d[2] | d[3]) != 0 && InvalidationDescriptors.TypeOf(w0) != InvalidationDescriptors.PageGroupResponse)
            return InvalidationQueueError.ReservedField; // the upper 128 bits are reserved except a response's private data
        const ulong typeBits = 0xF | 0xE00;
        ulong g = InvalidationDescriptors.Granularity.Get(w0);
        ushort did = (ushort)InvalidationDescriptors.DomainId.Get(w0);
        switch (InvalidationDescriptors.TypeOf(w0))
        {
            case InvalidationDescriptors.ContextCache:
                if ((w0 & ~(typeBits | 0x30 | 0xFFFF_0000UL | 0xFFFF_0000_0000UL | 0x3_0000_0000_0000UL)) != 0 || w1 != 0 || g == 0)
                    return InvalidationQueueError.ReservedField;
                if (g == 1)
                    InvalidateContextCache();
                else if (g == 2)
                    InvalidateContextCacheDomain(did);
                else
                    InvalidateContextCacheDevices((ushort)InvalidationDescriptors.ContextSourceId.Get(w0), (int)InvalidationDescriptors.ContextFunctionMask.Get(w0));
                return InvalidationQueueError.None;

            case InvalidationDescriptors.Iotlb:
                if ((w0 & ~(typeBits | 0xF0 | 0xFFFF_0000UL)) != 0 || (w1 & 0xF80) != 0 || g == 0)
                    return InvalidationQueueError.ReservedField;
                if (g == 1)
                    InvalidateIotlb();
                else if (g == 2)
                    InvalidateIotlbDomain(did);
                else if (!InvalidatePages(did, null, w1))
                    return InvalidationQueueError.ReservedField;
                return InvalidationQueueError.None;

            case InvalidationDescriptors.PasidIotlb:
                if (!IsScalableMode)
                    return InvalidationQueueError.InvalidType;
                if ((w0 & ~(typeBits | 0x30 | 0xFFFF_0000UL | 0xF_FFFF_0000_0000UL)) != 0 || (w1 & 0xF80) != 0 || g < 2)
                    return InvalidationQueueError.ReservedField;
                uint pasid = (uint)InvalidationDescriptors.Pasid.Get(w0);
                if (g == 2)
                    InvalidateIotlbPasid(did, pasid);
                else if (!InvalidatePages(did, pasid, w1))
                    return InvalidationQueueError.ReservedField;
                return InvalidationQueueError.None;

            case InvalidationDescriptors.PasidCache:
                if (!IsScalableMode)
                    return InvalidationQueueError.InvalidType;
                if ((w0 & ~(typeBits | 0x30 | 0xFFFF_0000UL | 0xF_FFFF_0000_0000UL)) != 0 || w1 != 0 || g == 2)
                    return InvalidationQueueError.ReservedField;
                if (g == 0)
                    InvalidatePasidCacheDomain(did);
                else if (g == 1)
                    InvalidatePasidCache(did, (uint)InvalidationDescriptors.Pasid.Get(w0));
                else
                    InvalidatePasidCache();
                return InvalidationQueueError.None;

            case InvalidationDescriptors.DeviceTlb:
                return DeviceTlbDescriptor(w0, w1, withPasid: false);

            case InvalidationDescriptors.PasidDeviceTlb:
                return DeviceTlbDescriptor(w0, w1, withPasid: true);

            case InvalidationDescriptors.PageGroupResponse:
                return PageGroupResponseDescriptor(w0, w1);

            case InvalidationDescriptors.Wait:
                if ((w0 & ~(typeBits | 0xF0 | 0xFFFF_FFFF_0000_0000UL)) != 0 || (w1 & 3) != 0)
                    return InvalidationQueueError.ReservedField;
                // With device-TLB invalidation requests outstanding the wait stays at IQH until they are answered (or time out).
                if (!_atc.StallIfOutstanding())
                    CompleteWait(w0, w1);
                return InvalidationQueueError.None;

            default:
                return InvalidationQueueError.InvalidType; // including the interrupt entry cache: no interrupt remapping
        }
    }

    /// <summary>A page-selective IOTLB invalidation from a descriptor's second word; false when AM is above CAP.MAMV
    /// or ADDR is not aligned to 2^AM pages.</summary>
    private bool InvalidatePages(ushort did, uint? pasid, ulong w1)
    {
        int mask = (int)InvalidateAddress.AddressMask.Get(w1);
        ulong address = w1 & InvalidateAddress.Address.Mask;
        if (mask > Capability.MaximumAddressMaskValue || (address & ((1UL << (VtdPaging.PageShift + mask)) - 1)) != 0)
            return false;
        InvalidateIotlbPages(did, pasid, address, mask);
        return true;
    }

    /// <summary>Invalidation wait: every earlier descriptor is done (they run in order), so the status write and
    /// ICS.IWC happen now.</summary>
    private void CompleteWait(ulong w0, ulong w1)
    {
        if (InvalidationDescriptors.WaitStatusWrite.IsSet(w0))
            WriteStatusDword(w1 & InvalidationDescriptors.WaitStatusAddress.Mask, (uint)InvalidationDescriptors.WaitStatusData.Get(w0));
        if (InvalidationDescriptors.WaitInterrupt.IsSet(w0))
        {
            _completionStatus |= 1;
            if ((_invalidationEventControl & (1u << 31)) == 0)
                _pendingCompletionEvent = true;
            else
                _invalidationEventControl |= 1u << 30;
        }
    }

    private void WriteStatusDword(ulong address, uint data)
    {
        ulong qword = address & ~7UL;
        if (!_memory.Contains(qword, 8))
            return; // a write to no memory goes nowhere
        int shift = (int)(address & 4) * 8;
        ulong old, updated;
        do
        {
            old = _memory.ReadUInt64(qword);
            updated = (old & ~(0xFFFF_FFFFUL << shift)) | (ulong)data << shift;
        }
        while (_memory.CompareExchangeUInt64(qword, updated, old) != old);
    }

    // FSTS fields whose setting is a fault event, unless one of them was set already (VT-d spec 7.3).
    private const uint EventStatusBits = 0b111_0011; // PFO, PPF, IQE, ICE, ITE

    private uint FaultStatusValue()
    {
        lock (_faultRecords)
            return StatusLocked();
    }

    /// <summary>FSTS_REG: the stored bits, PPF from the F bits, FRI (the record of the first pending fault).</summary>
    private uint StatusLocked()
    {
        uint value = _faultStatus;
        for (int i = 1; i < _faultRecords.Length; i += 2)
        {
            if (FrcdFields.Fault.IsSet(_faultRecords[i]))
            {
                value |= (uint)FaultStatus.PrimaryPendingFault.Mask;
                break;
            }
        }
        return (uint)FaultStatus.FaultRecordIndex.With(value, (ulong)_firstPendingRecord);
    }

    private void FaultStatusWrite(uint value)
    {
        uint clearable = (uint)(FaultStatus.PrimaryFaultOverflow.Mask | FaultStatus.InvalidationQueueError.Mask
            | FaultStatus.InvalidationCompletionError.Mask | FaultStatus.InvalidationTimeoutError.Mask);
        bool queueErrorCleared = (value & _faultStatus & (uint)(FaultStatus.InvalidationQueueError.Mask | FaultStatus.InvalidationTimeoutError.Mask)) != 0;
        lock (_faultRecords)
            _faultStatus &= ~(value & clearable);
        if (queueErrorCleared)
            ProcessInvalidationQueue(); // the queue resumes at IQH
    }

    private void FaultEventControlWrite(uint value)
    {
        bool unmasked = (value & (1u << 31)) == 0;
        bool pending = (_faultEventControl & (1u << 30)) != 0;
        _faultEventControl = (value & (1u << 31)) | (pending && !unmasked ? 1u << 30 : 0);
        if (unmasked && pending)
            _pendingFaultEvent = true;
    }

    private int _nextFaultRecord;      // the internal index where the next fault goes
    private int _firstPendingRecord;   // FSTS.FRI: where the first pending fault went when PPF was set

    /// <summary>Primary fault logging (VT-d spec 7.2.1): the fault goes to the record at the unit's internal index if
    /// that one is free, and the index moves on (wrapping); if it is taken, FSTS.PFO is set and the fault is lost;
    /// while PFO is set nothing is recorded. FSTS.FRI names the record of the first pending fault and holds while PPF
    /// stays set. A fault event follows only when no event status (PFO, PPF, IQE, ICE, ITE) was set before (7.3).</summary>
    private void RecordPrimaryFault(in FaultRecord record)
    {
        bool raise;
        lock (_faultRecords)
        {
            if (FaultStatus.PrimaryFaultOverflow.IsSet(_faultStatus))
                return;
            uint before = StatusLocked();
            int slot = _nextFaultRecord;
            if (FrcdFields.Fault.IsSet(_faultRecords[slot * 2 + 1]))
            {
                _faultStatus |= (uint)FaultStatus.PrimaryFaultOverflow.Mask; // lost; overflow is no event of its own
                raise = false;
            }
            else
            {
                if (!FaultStatus.PrimaryPendingFault.IsSet(before))
                    _firstPendingRecord = slot;
                _faultRecords[slot * 2] = FrcdFields.FaultInfo.Encode(record.Address >> 12);
                _faultRecords[slot * 2 + 1] = FrcdFields.Fault.Encode(1) | FrcdFields.TypeRead.Encode(record.IsWrite ? 0UL : 1UL)
                    | FrcdFields.PasidValue.Encode(record.HasPasid ? record.Pasid : 0) | FrcdFields.FaultReason.Encode((byte)record.Reason)
                    | FrcdFields.PasidPresent.Encode(record.HasPasid ? 1UL : 0) | FrcdFields.SourceId.Encode(record.SourceId);
                _nextFaultRecord = (slot + 1) % (_faultRecords.Length / 2);
                raise = (before & EventStatusBits) == 0; // a pending status already signalled the event
            }
        }
        if (raise)
            RaiseFaultEvent();
    }

    private void RaiseFaultEvent()
    {
        uint control = Volatile.Read(ref _faultEventControl);
        if ((control & (1u << 31)) != 0)
        {
            Interlocked.Or(ref _faultEventControl, 1u << 30); // masked: pending until software unmasks
            return;
        }
        if (_registerLock.IsHeldByCurrentThread)
            _pendingFaultEvent = true; // delivered when the register access ends (see DeliverEvents)
        else
            FaultEvent?.Invoke(this, new FaultEventInfo(FaultStatusValue(), _faultEventData, _faultEventAddress));
    }

    private void NoteGlobalInvalidation()
    {
        long writes = _memory.WriteLog?.Sequence ?? 0;
        foreach (StaleCache cache in (ReadOnlySpan<StaleCache>)[StaleCache.Iotlb, StaleCache.PasidCache, StaleCache.ContextCache])
            _sanitizer?.NoteInvalidation(cache, null, null, writes);
    }
}
