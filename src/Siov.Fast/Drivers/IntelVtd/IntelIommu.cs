using Siov.Fast.Ats;
using Siov.Fast.Hardware;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Drivers.IntelVtd;

/// <summary>
/// The intel-iommu driver's role for one VT-d remapping unit (<c>struct intel_iommu</c>): it sees only the unit's
/// registers (<see cref="IMmioRegion"/>) and simulated physical memory. It brings the unit up as Linux does
/// (root table, GCMD.SRTP, the invalidation queue and GCMD.QIE, GCMD.TE), writes root, context, PASID directory and
/// PASID entries into memory, and after each change issues the invalidations the kernel issues, as descriptors on
/// the invalidation queue followed by a wait descriptor whose status write it checks (register-based invalidation
/// through CCMD_REG and IOTLB_REG on a unit without queued invalidation).
/// </summary>
/// <remarks>
/// <para>Context entry change: device-selective context-cache invalidation, then the IOTLB of the domain (legacy) or
/// of every PASID the device had (scalable). PASID entry change: PASID-selective PASID-cache invalidation, then
/// PASID-based IOTLB invalidation. Unmap: a page-selective IOTLB invalidation whose address mask covers the range
/// (domain-selective past CAP_REG.MAMV), then the wait.</para>
/// <para>Calls serialize on one lock per unit; errors are <see cref="IommuException"/>s and leave memory as it was.
/// An invalidation the unit refuses (FSTS_REG.IQE) is a driver bug: it raises <see cref="InvalidOperationException"/>.</para>
/// </remarks>
public sealed partial class IntelIommu : IIommuDriver
{
    private const ulong QueueSizeField = 0;           // IQA_REG.QS: one 4 KiB page
    private readonly Lock _lock = new();
    private readonly IMmioRegion _registers;
    private readonly PhysicalMemory _memory;
    private readonly ulong _rootTable;
    private readonly int _hostAddressWidth;
    private readonly bool _queued;
    private readonly ulong _queue;                     // invalidation queue page
    private readonly ulong _descriptorBytes;
    private readonly ulong _status;                    // wait descriptors' status dword
    private ulong _tail;
    private uint _waitSequence;
    private readonly Lock _faultLock = new();

    /// <summary>
    /// Takes charge of a unit: reads CAP_REG and ECAP_REG; if no root table is latched yet (GSTS_REG.RTPS clear),
    /// allocates one and latches it with the mode chosen (scalable when ECAP_REG.SMTS is set and
    /// <paramref name="scalableMode"/> allows it); enables queued invalidation when the unit has it; turns translation on.
    /// A unit already running (RTPS and TES set, as one built with the <see cref="RemappingUnit"/> constructor is) keeps its
    /// root table and mode.
    /// </summary>
    /// <param name="registers">The unit's register region.</param>
    /// <param name="memory">The simulated memory the unit reads its tables from.</param>
    /// <param name="hostAddressWidth">The platform's host address width (DMAR HAW), 32 to 52.</param>
    /// <param name="scalableMode">Whether to use scalable mode where the unit supports it (Linux's <c>intel_iommu=sm_on</c>).</param>
    /// <param name="registerBase">The unit's register base address (the DRHD's, <c>drhd->reg_base_addr</c>), for messages.</param>
    /// <exception cref="IommuException">ENOMEM when no frame is left for the root table or the queue; EINVAL for a HAW outside 32-52.</exception>
    public IntelIommu(IMmioRegion registers, PhysicalMemory memory, int hostAddressWidth = 46, bool scalableMode = true, ulong registerBase = 0)
    {
        UnitName = $"unit at {Throw.Hex(registerBase)}";
        ArgumentNullException.ThrowIfNull(registers);
        ArgumentNullException.ThrowIfNull(memory);
        if (hostAddressWidth is < 32 or > 52)
            Throw.Iommu(Errno.EINVAL, $"host address width {hostAddressWidth} is outside 32-52");
        _registers = registers;
        _memory = memory;
        _hostAddressWidth = hostAddressWidth;
        Capability = CapabilityRegister.Decode(registers.Read(VtdRegisters.CapabilityOffset, 8));
        ExtendedCapability = ExtendedCapabilityRegister.Decode(registers.Read(VtdRegisters.ExtendedCapabilityOffset, 8));
        PageSizes = Capability.SecondLevelPageSizes;
        uint status = (uint)registers.Read(VtdRegisters.GlobalStatusOffset, 4);
        var allocated = new List<ulong>();
        try
        {
            if (VtdRegisters.GlobalCommand.SetRootTablePointer.IsSet(status))
            {
                ulong rtaddr = registers.Read(VtdRegisters.RootTableAddressOffset, 8);
                _rootTable = rtaddr & VtdRegisters.RootTableAddressRegister.Address.Mask;
                IsScalableMode = VtdRegisters.RootTableAddressRegister.TranslationTableMode.Get(rtaddr) == 1;
            }
            else
            {
                IsScalableMode = scalableMode && ExtendedCapability.ScalableMode;
                _rootTable = memory.Frames.Allocate();
                allocated.Add(_rootTable);
                registers.Write(VtdRegisters.RootTableAddressOffset, 8,
                    _rootTable | VtdRegisters.RootTableAddressRegister.TranslationTableMode.Encode(IsScalableMode ? 1UL : 0));
                Command(VtdRegisters.GlobalCommand.SetRootTablePointer, set: true);
            }
            PasidWidth = IsScalableMode && ExtendedCapability.Pasid ? Math.Min(ExtendedCapability.PasidWidth, 20) : 0;
            _queued = ExtendedCapability.QueuedInvalidation;
            if (_queued)
            {
                _queue = memory.Frames.Allocate();
                allocated.Add(_queue);
                _status = memory.Frames.Allocate();
                allocated.Add(_status);
                bool wide = IsScalableMode; // 256-bit descriptors in scalable mode, as Linux uses them
                _descriptorBytes = wide ? 32UL : 16UL;
                registers.Write(VtdRegisters.InvalidationQueueTailOffset, 8, 0);
                registers.Write(VtdRegisters.InvalidationQueueAddressOffset, 8, _queue
                    | VtdRegisters.InvalidationQueueAddress.DescriptorWidth.Encode(wide ? 1UL : 0) | VtdRegisters.InvalidationQueueAddress.QueueSize.Encode(QueueSizeField));
                Command(VtdRegisters.GlobalCommand.QueuedInvalidationEnable, set: true);
            }
            // Whatever the caches hold from before this driver is dropped before translation starts.
            Submit([ContextGlobal(), IotlbGlobal()]);
            if (!VtdRegisters.GlobalCommand.TranslationEnable.IsSet((uint)registers.Read(VtdRegisters.GlobalStatusOffset, 4)))
                Command(VtdRegisters.GlobalCommand.TranslationEnable, set: true);
            // The fault interrupt: its handler reads the fault recording registers (dmar_fault). The unit raises it as
            // an event; unmasking FECTL delivers one already pending.
            if (registers is RemappingUnit unit)
                unit.FaultEvent += (_, _) => ReadFaults();
            registers.Write(VtdRegisters.FaultEventControlOffset, 4, 0);
            if (IsScalableMode && ExtendedCapability.PageRequest && _queued)
            {
                _pageRequestQueue = memory.Frames.Allocate();
                allocated.Add(_pageRequestQueue);
                EnablePageRequestQueue(registers as RemappingUnit);
            }
        }
        catch
        {
            foreach (ulong frame in allocated)
                memory.Frames.Free(frame);
            throw;
        }
    }

    /// <inheritdoc/>
    public string Name => "intel-iommu";

    /// <summary>False: under VT-d a domain may be normal on one device and aux on another (seed 003).</summary>
    public bool StickyAttachModes => false;

    /// <summary>VT-d allows any normal attach the core allows.</summary>
    /// <param name="domain">The domain.</param>
    /// <param name="device">The device.</param>
    public void CheckNormalAttach(IommuDomain domain, PciDevice device)
    {
    }

    // Functions whose ATS (and PRI) the driver enabled (info->ats_enabled, info->pri_enabled); under _lock.
    private readonly HashSet<ushort> _atsDevices = [];
    private readonly HashSet<ushort> _priDevices = [];

    /// <summary>
    /// Enables ATS for a function, as <c>intel_iommu_probe_device</c> and <c>iommu_enable_pci_caps</c> do when the
    /// function has the capability and the platform allows it (ATSR, SATC): its context entry gets DTE (TT = 01b in legacy
    /// mode) and PRE when <paramref name="pageRequests"/>, and every IOTLB invalidation for its domains is followed by a
    /// device-TLB invalidation. Call it before the function is attached.
    /// </summary>
    /// <param name="requesterId">The function.</param>
    /// <param name="pageRequests">Enable PRI too (scalable mode and ECAP_REG.PRS needed; ignored otherwise).</param>
    /// <returns>False when the unit has no device-TLB support (ECAP_REG.DT clear): ATS stays off, as in Linux.</returns>
    /// <exception cref="IommuException">EBUSY when the function already has a context entry.</exception>
    public bool EnableDeviceAts(ushort requesterId, bool pageRequests)
    {
        lock (_lock)
        {
            if (!ExtendedCapability.DeviceTlb)
                return false;
            if (_legacyDevices.ContainsKey(requesterId) || _scalableDevices.ContainsKey(requesterId))
                Throw.Iommu(Errno.EBUSY, $"device {RequesterIds.Format(requesterId)} is attached already: ATS is enabled before the first attach");
            _atsDevices.Add(requesterId);
            if (pageRequests && IsScalableMode && ExtendedCapability.PageRequest)
                _priDevices.Add(requesterId);
            return true;
        }
    }

    /// <summary>True in scalable mode with ECAP_REG.PRS: PRI is enabled with ATS for functions that have it.</summary>
    public bool SupportsPageRequests => IsScalableMode && ExtendedCapability.PageRequest;

    /// <summary>Forgets a function's ATS and PRI (the function went away, or its probe failed).</summary>
    /// <param name="requesterId">The function.</param>
    public void DisableDeviceAts(ushort requesterId)
    {
        lock (_lock)
        {
            _atsDevices.Remove(requesterId);
            _priDevices.Remove(requesterId);
        }
    }

    /// <summary>Whether the driver enabled ATS for the function.</summary>
    /// <param name="requesterId">The function.</param>
    /// <returns>True when enabled.</returns>
    public bool IsAtsEnabled(ushort requesterId)
    {
        lock (_lock)
            return _atsDevices.Contains(requesterId);
    }

    /// <summary>Invalidation waits that ended in an invalidation time-out (FSTS_REG.ITE): a function did not answer a
    /// device-TLB invalidation. The driver clears ITE and goes on, as Linux does for a function that is gone.</summary>
    public long DeviceTlbTimeouts => Volatile.Read(ref _deviceTlbTimeouts);

    private long _deviceTlbTimeouts;

    /// <summary>VT-d keeps no parent for an aux domain.</summary>
    /// <param name="domain">The aux domain.</param>
    /// <param name="device">The parent device.</param>
    /// <returns>Null.</returns>
    public IommuDomain? CheckAuxAttach(IommuDomain domain, PciDevice device) => null;

    /// <inheritdoc/>
    public void SetDevicePasid(ushort requesterId, uint pasid, ushort domainId, SecondLevelPageTable? table)
    {
        if (table == null)
            SetupPasidPassThrough(requesterId, pasid, domainId);
        else if (table.Format.Stage == PageTableStage.FirstLevel)
            SetupPasidFirstLevel(requesterId, pasid, domainId, table);
        else
            SetupPasidSecondLevel(requesterId, pasid, domainId, table);
    }

    /// <summary>
    /// <c>intel_pasid_setup_nested</c>: a PGTT 011b entry for the requests without PASID (RID_PASID) or a PASID of the
    /// device: the guest's stage-1 table (FLPTPTR = its GPA root, FLPM, SRE, WPE) over the parent's second-level table;
    /// without a second stage, the PGTT 001b entry of SVA (<c>intel_pasid_setup_first_level</c> with a process's table).
    /// </summary>
    /// <inheritdoc/>
    public void SetDevicePasidStage1(ushort requesterId, uint? pasid, ushort domainId, Stage1Table stage1, SecondLevelPageTable? secondStage)
    {
        lock (_lock)
        {
            if (!IsScalableMode || !ExtendedCapability.FirstLevelTranslation || (secondStage != null && !ExtendedCapability.NestedTranslation))
                Throw.Iommu(Errno.EOPNOTSUPP, secondStage != null
                    ? "this unit cannot nest (scalable mode and ECAP_REG.NEST, FLTS are needed)"
                    : "this unit has no first-level translation for SVA (scalable mode and ECAP_REG.FLTS are needed)");
            if (stage1.Levels == 5 && !Capability.FirstLevel5LevelPaging)
                Throw.Iommu(Errno.EINVAL, "a 5-level stage 1 needs CAP_REG.FL5LP, which this unit lacks");
            if (stage1.SupervisorRequests && !ExtendedCapability.SupervisorRequest)
                Throw.Iommu(Errno.EINVAL, "stage 1 asks for supervisor requests (SRE) and the unit has no ECAP_REG.SRS");
            if ((stage1.Root & ~((1UL << 57) - 1)) != 0)
                Throw.Iommu(Errno.EINVAL, $"the stage-1 root {Throw.Hex(stage1.Root)} is beyond a 57-bit GPA");
            ValidateDomainId(domainId);
            if (secondStage != null)
                ValidateTarget(secondStage);
            bool created = !_scalableDevices.ContainsKey(requesterId);
            if (created)
                SetupScalableContext(requesterId);
            uint at = pasid ?? _scalableDevices[requesterId].RidPasid;
            var controls = new FirstLevelControls(stage1.SupervisorRequests, false, stage1.WriteProtect, false, false);
            try
            {
                WritePasidEntry(requesterId, at, domainId, secondStage != null
                    ? PasidEntry.Nested(stage1.Root, stage1.Levels, secondStage.RootHpa, secondStage.Levels - 2, domainId, controls)
                    : PasidEntry.FirstLevel(stage1.Root, stage1.Levels, domainId, controls));
            }
            catch (IommuException) when (created)
            {
                ClearContextEntry(requesterId);
                throw;
            }
        }
    }

    /// <inheritdoc/>
    public void RemoveDevicePasid(ushort requesterId, uint pasid) => TearDownPasidEntry(requesterId, pasid);

    /// <summary>
    /// <c>intel_iommu_set_dirty_tracking</c>: sets or clears SLADE in every second-level PASID entry of the domain, then
    /// invalidates each one's PASID cache and PASID-based IOTLB and waits, so the unit starts (or stops) setting A/D.
    /// </summary>
    /// <param name="domainId">DID.</param>
    /// <param name="enabled">On or off.</param>
    /// <exception cref="IommuException">EOPNOTSUPP in legacy mode or without ECAP_REG.SLADS.</exception>
    public void SetDirtyTracking(ushort domainId, bool enabled)
    {
        lock (_lock)
        {
            if (!IsScalableMode || !ExtendedCapability.SecondLevelAccessedDirty)
                Throw.Iommu(Errno.EOPNOTSUPP, "this unit cannot track dirty pages (scalable mode and ECAP_REG.SLADS are needed)");
            var flushes = new List<(ulong W0, ulong W1)>();
            foreach (ScalableDevice device in _scalableDevices.Values)
            {
                foreach ((uint pasid, ushort did) in device.Pasids)
                {
                    if (did != domainId || !device.PasidTables.TryGetValue(pasid >> 6, out ulong pasidTable))
                        continue;
                    ulong hpa = pasidTable + (pasid & 63) * PasidEntry.Size;
                    ulong q0 = _memory.ReadUInt64(hpa);
                    if ((PasidTranslationType)PasidEntry.TranslationTypeField.Get(q0) != PasidTranslationType.SecondLevel)
                        continue;
                    ulong updated = enabled ? q0 | PasidEntry.SecondLevelAccessedDirtyEnableField.Mask : q0 & ~PasidEntry.SecondLevelAccessedDirtyEnableField.Mask;
                    if (updated == q0)
                        continue;
                    _memory.WriteUInt64(hpa, updated);
                    flushes.Add(PasidCacheSelective(domainId, pasid));
                    flushes.Add(PasidIotlb(domainId, pasid));
                }
            }
            if (flushes.Count > 0)
                Submit(flushes.ToArray());
        }
    }

    /// <summary>The faults read from the unit's fault recording registers, oldest first (256 at most; older ones are
    /// dropped and counted).</summary>
    public FaultLog Faults { get; } = new(256);

    /// <summary>
    /// The fault interrupt handler (<c>dmar_fault</c>): from FSTS_REG.FRI on, reads every fault recording register with
    /// F set into <see cref="Faults"/> and clears F (write 1), then clears FSTS_REG.PFO if it was set, until PPF is clear.
    /// Runs on the thread that raised the fault event; also callable directly (polling).
    /// </summary>
    public void ReadFaults()
    {
        ulong frcd = (ulong)Capability.FaultRecordingRegisterOffset * 16;
        int records = Math.Max(1, Capability.NumberOfFaultRecordingRegisters);
        lock (_faultLock)
        {
            for (int pass = 0; pass < 4; pass++)
            {
                ulong status = _registers.Read(VtdRegisters.FaultStatusOffset, 4);
                if (!VtdRegisters.FaultStatus.PrimaryPendingFault.IsSet(status) && !VtdRegisters.FaultStatus.PrimaryFaultOverflow.IsSet(status))
                    return;
                int index = (int)VtdRegisters.FaultStatus.FaultRecordIndex.Get(status);
                for (int n = 0; n < records; n++, index = (index + 1) % records)
                {
                    ulong at = frcd + (ulong)index * 16;
                    ulong high = _registers.Read(at + 8, 8);
                    if (!VtdRegisters.FaultRecord.Fault.IsSet(high))
                        break;
                    ulong low = _registers.Read(at, 8);
                    bool pasidPresent = VtdRegisters.FaultRecord.PasidPresent.IsSet(high);
                    Faults.Record(new FaultRecord((ushort)VtdRegisters.FaultRecord.SourceId.Get(high), pasidPresent,
                        pasidPresent ? (uint)VtdRegisters.FaultRecord.PasidValue.Get(high) : 0,
                        low & VtdRegisters.FaultRecord.FaultInfo.Mask, (FaultReason)VtdRegisters.FaultRecord.FaultReason.Get(high),
                        !VtdRegisters.FaultRecord.TypeRead.IsSet(high)));
                    _registers.Write(at + 8, 8, VtdRegisters.FaultRecord.Fault.Mask); // write 1 to clear F
                }
                if (VtdRegisters.FaultStatus.PrimaryFaultOverflow.IsSet(status))
                    _registers.Write(VtdRegisters.FaultStatusOffset, 4, VtdRegisters.FaultStatus.PrimaryFaultOverflow.Mask);
            }
        }
    }

    /// <summary>CAP_REG as read at start-up.</summary>
    public CapabilityRegister Capability { get; }

    /// <summary>ECAP_REG as read at start-up.</summary>
    public ExtendedCapabilityRegister ExtendedCapability { get; }

    /// <summary>True when the unit runs in scalable mode (RTADDR_REG.TTM = 01b).</summary>
    public bool IsScalableMode { get; }

    /// <summary>PASID width in bits the driver uses (0 in legacy mode or without ECAP_REG.PASID).</summary>
    public int PasidWidth { get; }

    /// <summary>Second-level leaf sizes (CAP_REG.SLLPS).</summary>
    public PageSizes PageSizes { get; }

    /// <summary>Number of domain ids (CAP_REG.ND).</summary>
    public int NumberOfDomains => Capability.NumberOfDomains;

    /// <inheritdoc/>
    public string UnitName { get; }

    /// <summary>ECAP_REG.PT: pass-through is available for identity domains.</summary>
    public bool SupportsIdentityDomain => ExtendedCapability.PassThrough;

    /// <summary><see cref="PageTableStage.SecondLevel"/>: DMA domains are second-level tables (first level is for SVA and
    /// nested guests' tables).</summary>
    public PageTableStage DomainTableStage => PageTableStage.SecondLevel;

    /// <summary>The DMAR table's host address width given at start-up.</summary>
    public int HostAddressWidth => _hostAddressWidth;

    /// <summary>CAP_REG.SAGAW: whether second-level tables of <paramref name="levels"/> levels are walked.</summary>
    /// <param name="levels">3, 4 or 5.</param>
    /// <returns>True when supported.</returns>
    public bool SupportsLevels(int levels) => Capability.SupportsLevels(levels);

    /// <summary>The memory the tables live in.</summary>
    public PhysicalMemory Memory => _memory;

    /// <summary>HPA of the root table the unit uses.</summary>
    public ulong RootTable => _rootTable;

    /// <summary>
    /// Invalidates the IOTLB for <c>[iova, iova + size)</c> of a domain after an unmap (<c>iommu_flush_iotlb_psi</c>):
    /// one page-selective IOTLB invalidation whose address mask covers the range, or domain-selective when the mask
    /// would pass CAP_REG.MAMV, then a device-TLB invalidation of the same range for every ATS-enabled function using the
    /// domain (<c>iommu_flush_dev_iotlb</c>; PASID-based for a PASID other than RID_PASID), then a wait. With
    /// <paramref name="pasid"/>, a PASID-based IOTLB invalidation of that PASID.
    /// </summary>
    /// <param name="domainId">DID.</param>
    /// <param name="pasid">PASID, or null for every PASID of the domain.</param>
    /// <param name="iova">First IOVA.</param>
    /// <param name="size">Bytes, at least 1.</param>
    /// <exception cref="IommuException">EINVAL for a zero size or a range that wraps.</exception>
    public void FlushIotlbRange(ushort domainId, uint? pasid, ulong iova, ulong size)
    {
        (ulong address, int mask) = InvalidationDescriptors.CoveringPages(iova, size);
        lock (_lock)
        {
            var descriptors = new List<(ulong, ulong)>(2);
            if (mask > Capability.MaximumAddressMaskValue || !Capability.PageSelectiveInvalidation)
                descriptors.Add(pasid is uint p ? PasidIotlb(domainId, p) : IotlbDomain(domainId));
            else
                descriptors.Add(IotlbPages(domainId, pasid, address, mask));
            AddDeviceTlbFlushes(descriptors, domainId, pasid, address, VtdPaging.PageShift + mask);
            Submit([.. descriptors]);
        }
    }

    // Bookkeeping (under _lock): which tables this driver allocated and which entries it wrote.
    private readonly Dictionary<int, ulong> _contextTables = [];          // bus * 2 + upper half -> context table HPA
    private readonly Dictionary<ushort, ushort> _legacyDevices = [];      // requester id -> DID
    private readonly Dictionary<ushort, ScalableDevice> _scalableDevices = [];

    private sealed class ScalableDevice(ulong directory, int directoryFrames, int pdts, uint ridPasid)
    {
        public readonly ulong Directory = directory;
        public readonly int DirectoryFrames = directoryFrames;
        public readonly int Pdts = pdts;
        public readonly uint RidPasid = ridPasid;
        public readonly Dictionary<uint, ulong> PasidTables = [];          // PASID[19:6] -> PASID table HPA
        public readonly Dictionary<uint, ushort> Pasids = [];              // present PASID entries -> DID
    }

    /// <summary>
    /// Attaches a requester id to a domain, in whichever mode the unit runs: in legacy mode a
    /// context entry (TT = 00b, or 10b for pass-through); in scalable mode a scalable-mode
    /// context entry (created when absent) and the RID_PASID entry (PGTT = 010b or 100b).
    /// </summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="domainId">DID, below CAP_REG.ND's count (and not 0 when CAP_REG.CM is set).</param>
    /// <param name="table">The domain's second-level table, or null for pass-through.</param>
    /// <exception cref="IommuException">As the mode's setup method: EBUSY when already attached, ERANGE for a DID
    /// out of range, EINVAL for a table the unit cannot walk, ENODEV for pass-through without ECAP_REG.PT,
    /// ENOMEM when memory is full. Nothing changes on an error.</exception>
    public void AttachDevice(ushort requesterId, ushort domainId, SecondLevelPageTable? table)
    {
        lock (_lock)
        {
            if (!IsScalableMode)
            {
                if (table?.Format.Stage == PageTableStage.FirstLevel)
                    Throw.Iommu(Errno.EINVAL, "a first-level table needs a unit in scalable mode (legacy context entries walk second-level tables only)");
                if (table == null)
                    SetupContextPassThrough(requesterId, domainId);
                else
                    SetupContextSecondLevel(requesterId, domainId, table);
                return;
            }
            bool created = false;
            if (!_scalableDevices.ContainsKey(requesterId))
            {
                ValidateDomainId(domainId);
                ValidateTarget(table);
                SetupScalableContext(requesterId);
                created = true;
            }
            uint ridPasid = _scalableDevices[requesterId].RidPasid;
            try
            {
                if (table == null)
                    SetupPasidPassThrough(requesterId, ridPasid, domainId);
                else if (table.Format.Stage == PageTableStage.FirstLevel)
                    SetupPasidFirstLevel(requesterId, ridPasid, domainId, table);
                else
                    SetupPasidSecondLevel(requesterId, ridPasid, domainId, table);
            }
            catch (IommuException) when (created)
            {
                ClearContextEntry(requesterId); // undo the context entry this call created
                throw;
            }
        }
    }

    /// <summary>Detaches what <see cref="AttachDevice"/> attached: the context entry in legacy mode,
    /// the RID_PASID entry in scalable mode (the context entry and other PASIDs stay).</summary>
    /// <param name="requesterId">Source id.</param>
    /// <exception cref="IommuException">ENOENT when the device is not attached.</exception>
    public void DetachDevice(ushort requesterId)
    {
        lock (_lock)
        {
            if (!IsScalableMode)
            {
                ClearContextEntry(requesterId);
                return;
            }
            if (!_scalableDevices.TryGetValue(requesterId, out ScalableDevice? device) || !device.Pasids.ContainsKey(device.RidPasid))
                Throw.Iommu(Errno.ENOENT, $"device {RequesterIds.Format(requesterId)} is not attached to a domain on this unit");
            TearDownPasidEntry(requesterId, device.RidPasid);
        }
    }

    /// <summary>
    /// Legacy mode: points the context entry of <paramref name="requesterId"/> at a second-level
    /// table (TT = 00b), as the Linux driver's <c>domain_context_mapping_one</c> does, and creates
    /// the bus's context table when needed.
    /// </summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="domainId">DID.</param>
    /// <param name="table">The second-level table; its levels must be in SAGAW, its leaf sizes in SLLPS,
    /// its memory the unit's and its HAW at most the unit's.</param>
    /// <param name="faultProcessingDisable">FPD: faults through this entry are not recorded.</param>
    /// <exception cref="IommuException">ENODEV in scalable mode; EBUSY when the context entry is present;
    /// ERANGE for a DID beyond ND; EINVAL for DID 0 with caching mode or a table the unit cannot walk;
    /// ENOMEM when memory is full.</exception>
    public void SetupContextSecondLevel(ushort requesterId, ushort domainId, SecondLevelPageTable table, bool faultProcessingDisable = false)
    {
        ArgumentNullException.ThrowIfNull(table);
        lock (_lock)
        {
            RequireLegacy();
            ValidateDomainId(domainId);
            ValidateTarget(table);
            // TT = 01b: untranslated requests translated as with 00b, and ATS translation and translated requests allowed.
            WriteLegacyContext(requesterId, domainId,
                ContextEntry.Create(_atsDevices.Contains(requesterId) ? 1 : 0, table.RootHpa, table.Levels - 2, domainId, faultProcessingDisable));
        }
    }

    /// <summary>Legacy mode: a pass-through context entry (TT = 10b): the output address is the input address.</summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="domainId">DID (the identity domain's).</param>
    /// <exception cref="IommuException">ENODEV in scalable mode or without ECAP_REG.PT; EBUSY when present;
    /// ERANGE/EINVAL for the DID; ENOMEM when memory is full.</exception>
    public void SetupContextPassThrough(ushort requesterId, ushort domainId)
    {
        lock (_lock)
        {
            RequireLegacy();
            ValidateDomainId(domainId);
            ValidateTarget(null);
            WriteLegacyContext(requesterId, domainId, ContextEntry.Create(2, 0, DefaultAddressWidth(), domainId));
        }
    }

    /// <summary>
    /// Clears the context entry of a requester id, then invalidates as Linux does
    /// (<c>domain_context_clear_one</c>): device-selective context cache, then the IOTLB of the
    /// domain (legacy) or of every PASID the device had (scalable, whose PASID directory and
    /// tables are then freed once no walk can still read them).
    /// </summary>
    /// <param name="requesterId">Source id.</param>
    /// <exception cref="IommuException">ENOENT when the context entry is not present.</exception>
    public void ClearContextEntry(ushort requesterId)
    {
        lock (_lock)
        {
            if (!IsScalableMode)
            {
                if (!_legacyDevices.Remove(requesterId, out ushort did))
                    Throw.Iommu(Errno.ENOENT, $"device {RequesterIds.Format(requesterId)} has no context entry on this unit");
                ulong entry = ContextEntryHpa(requesterId, allocate: false);
                _memory.WriteUInt64(entry, 0); // P = 0 first
                _memory.WriteUInt64(entry + 8, 0);
                FlushContextDevice(requesterId, did);
                Submit(_atsDevices.Contains(requesterId)
                    ? [IotlbDomain(did), DeviceTlbFlush(requesterId, null, 0, AtsAddressRange.WholeSpaceShift)]
                    : [IotlbDomain(did)]);
                return;
            }

            if (!_scalableDevices.Remove(requesterId, out ScalableDevice? device))
                Throw.Iommu(Errno.ENOENT, $"device {RequesterIds.Format(requesterId)} has no scalable-mode context entry on this unit");
            ulong hpa = ContextEntryHpa(requesterId, allocate: false);
            _memory.WriteUInt64(hpa, 0);
            _memory.WriteUInt64(hpa + 8, 0);
            FlushContextDevice(requesterId, device.Pasids.TryGetValue(device.RidPasid, out ushort ridDid) ? ridDid : (ushort)0);
            FlushPasids(device.Pasids, _atsDevices.Contains(requesterId) ? requesterId : null);
            foreach (ulong table in device.PasidTables.Values)
                _memory.Reclaimer.Retire(table);
            for (int i = 0; i < device.DirectoryFrames; i++)
                _memory.Reclaimer.Retire(device.Directory + (ulong)i * VtdPaging.PageSize);
        }
    }

    /// <summary>
    /// Scalable mode: writes the scalable-mode context entry of a requester id with a new,
    /// empty PASID directory sized for the unit's PASID width (PDTS), PASIDE set when the unit
    /// supports PASIDs, DTE when the function's ATS is enabled and PRE when its PRI is (<see cref="EnableDeviceAts"/>).
    /// </summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="ridPasid">RID_PASID: the PASID that requests without a PASID use (non-zero needs ECAP_REG.RPS).</param>
    /// <exception cref="IommuException">ENODEV in legacy mode; EBUSY when present; EINVAL for a non-zero
    /// RID_PASID without RPS; ERANGE for a RID_PASID beyond the directory; ENOMEM when memory is full.</exception>
    public void SetupScalableContext(ushort requesterId, uint ridPasid = 0)
    {
        lock (_lock)
        {
            RequireScalable();
            if (_scalableDevices.ContainsKey(requesterId))
                Throw.Iommu(Errno.EBUSY, $"device {RequesterIds.Format(requesterId)} already has a scalable-mode context entry");
            if (ridPasid != 0 && !ExtendedCapability.RidPasid)
                Throw.Iommu(Errno.EINVAL, $"RID_PASID {ridPasid} needs ECAP_REG.RPS, which this unit lacks (RID_PASID must be 0)");
            // The directory covers the unit's PASID width: 2^(width - 6) entries of 8 bytes, at least 128 (PDTS = 0).
            int pdts = Math.Max(0, Math.Max(PasidWidth, 7) - 6 - 7);
            uint limit = 1u << (pdts + 7 + 6);
            if (ridPasid >= limit)
                Throw.Iommu(Errno.ERANGE, $"RID_PASID {ridPasid} is beyond the PASID directory ({limit} PASIDs)");
            int frames = Math.Max(1, (1 << (pdts + 7)) * PasidDirectoryEntry.Size / (int)VtdPaging.PageSize);
            ulong hpaOfEntry = ContextEntryHpa(requesterId, allocate: true);
            ulong directory = _memory.Frames.AllocateContiguous(frames);
            var entry = ScalableContextEntry.Create(directory, pdts, ridPasid, _atsDevices.Contains(requesterId), PasidWidth > 0,
                pageRequest: _priDevices.Contains(requesterId));
            _memory.WriteUInt64(hpaOfEntry + 8, entry.Q1);
            _memory.WriteUInt64(hpaOfEntry, entry.Q0); // release store: P last
            _scalableDevices.Add(requesterId, new ScalableDevice(directory, frames, pdts, ridPasid));
        }
    }

    /// <summary>
    /// Scalable mode: points the PASID entry (<paramref name="requesterId"/>, <paramref name="pasid"/>) at a
    /// second-level table (PGTT = 010b), as <c>intel_pasid_setup_second_level</c> does. Creates the
    /// context entry (RID_PASID 0) and the PASID table when needed.
    /// </summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pasid">PASID, below 2^<see cref="PasidWidth"/> (or the RID_PASID).</param>
    /// <param name="domainId">DID.</param>
    /// <param name="table">The second-level table.</param>
    /// <param name="faultProcessingDisable">FPD.</param>
    /// <exception cref="IommuException">ENODEV in legacy mode, without ECAP_REG.SLTS, or for a PASID other than
    /// RID_PASID on a unit without PASID support; ERANGE for a PASID or DID out of range; EBUSY when the entry
    /// is present; EINVAL for a table the unit cannot walk; ENOMEM when memory is full.</exception>
    public void SetupPasidSecondLevel(ushort requesterId, uint pasid, ushort domainId, SecondLevelPageTable table, bool faultProcessingDisable = false)
    {
        ArgumentNullException.ThrowIfNull(table);
        lock (_lock)
        {
            RequireScalable();
            if (!ExtendedCapability.SecondLevelTranslation)
                Throw.Iommu(Errno.ENODEV, "this unit has no second-level translation in scalable mode (ECAP_REG.SLTS is clear)");
            ValidateDomainId(domainId);
            ValidateTarget(table);
            PasidEntry entry = PasidEntry.SecondLevel(table.RootHpa, table.Levels - 2, domainId, faultProcessingDisable);
            if (table.DirtyTracking)
            {
                if (!ExtendedCapability.SecondLevelAccessedDirty)
                    Throw.Iommu(Errno.EOPNOTSUPP, "the domain tracks dirty pages and this unit cannot (ECAP_REG.SLADS is clear)");
                entry = entry with { Q0 = entry.Q0 | PasidEntry.SecondLevelAccessedDirtyEnableField.Mask };
            }
            WritePasidEntry(requesterId, pasid, domainId, entry);
        }
    }

    /// <summary>
    /// Scalable mode: a first-level PASID entry (PGTT = 001b) over an IA-32e table, as <c>intel_pasid_setup_first_level</c>
    /// does for a DMA domain: FLPTPTR, FLPM (5-level with CAP_REG.FL5LP), DID; no supervisor or execute requests.
    /// </summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pasid">PASID (or the device's RID_PASID).</param>
    /// <param name="domainId">DID.</param>
    /// <param name="table">A table whose <see cref="SecondLevelFormat.Stage"/> is <see cref="PageTableStage.FirstLevel"/>.</param>
    /// <param name="faultProcessingDisable">FPD.</param>
    /// <exception cref="IommuException">ENODEV in legacy mode or without ECAP_REG.FLTS; EINVAL for a second-level table,
    /// 5 levels without CAP_REG.FL5LP, 1 GiB leaves without CAP_REG.FL1GP or a wider HAW; as <see cref="SetupPasidSecondLevel"/>
    /// otherwise.</exception>
    public void SetupPasidFirstLevel(ushort requesterId, uint pasid, ushort domainId, SecondLevelPageTable table, bool faultProcessingDisable = false)
    {
        ArgumentNullException.ThrowIfNull(table);
        lock (_lock)
        {
            RequireScalable();
            if (!ExtendedCapability.FirstLevelTranslation)
                Throw.Iommu(Errno.ENODEV, "this unit has no first-level translation (ECAP_REG.FLTS is clear)");
            if (table.Format.Stage != PageTableStage.FirstLevel)
                Throw.Iommu(Errno.EINVAL, "a first-level PASID entry needs a table in the first-level (IA-32e) format");
            if (table.Levels == 5 && !Capability.FirstLevel5LevelPaging)
                Throw.Iommu(Errno.EINVAL, "a 5-level first-level table needs CAP_REG.FL5LP, which this unit lacks");
            if ((table.Format.PageSizes & PageSizes.Size1G) != 0 && !Capability.FirstLevel1GPages)
                Throw.Iommu(Errno.EINVAL, "the table may use 1 GiB first-level leaves, which this unit lacks (CAP_REG.FL1GP)");
            if (!ReferenceEquals(table.Memory, _memory))
                Throw.Iommu(Errno.EINVAL, "the page table lives in another simulated memory than this unit's");
            if (table.Format.HostAddressWidth > _hostAddressWidth)
                Throw.Iommu(Errno.EINVAL,
                    $"the table's {table.Format.HostAddressWidth}-bit host address width exceeds this unit's {_hostAddressWidth} bits");
            ValidateDomainId(domainId);
            WritePasidEntry(requesterId, pasid, domainId, PasidEntry.FirstLevel(table.RootHpa, table.Levels, domainId, default, faultProcessingDisable));
        }
    }

    /// <summary>
    /// Scalable mode: a nested PASID entry (PGTT = 011b), as <c>intel_pasid_setup_nested</c> does: a first-level table whose
    /// pointers and output are GPAs (the guest's stage 1) over a second-level table that maps them (the host's stage 2).
    /// </summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pasid">PASID (or the device's RID_PASID).</param>
    /// <param name="domainId">DID: the nested translations are tagged with it.</param>
    /// <param name="firstLevel">The stage-1 table (first-level format); its root is taken as a GPA.</param>
    /// <param name="secondLevel">The stage-2 table (second-level format).</param>
    /// <exception cref="IommuException">ENODEV without ECAP_REG.NEST, FLTS or SLTS; EINVAL for tables of the wrong formats or
    /// that the unit cannot walk; as <see cref="SetupPasidSecondLevel"/> otherwise.</exception>
    public void SetupPasidNested(ushort requesterId, uint pasid, ushort domainId, SecondLevelPageTable firstLevel, SecondLevelPageTable secondLevel)
    {
        ArgumentNullException.ThrowIfNull(firstLevel);
        ArgumentNullException.ThrowIfNull(secondLevel);
        lock (_lock)
        {
            RequireScalable();
            if (!ExtendedCapability.NestedTranslation || !ExtendedCapability.FirstLevelTranslation || !ExtendedCapability.SecondLevelTranslation)
                Throw.Iommu(Errno.ENODEV, "this unit has no nested translation (ECAP_REG.NEST, FLTS and SLTS are needed)");
            if (firstLevel.Format.Stage != PageTableStage.FirstLevel || secondLevel.Format.Stage != PageTableStage.SecondLevel)
                Throw.Iommu(Errno.EINVAL, "nesting needs a first-level table over a second-level one");
            if (firstLevel.Levels == 5 && !Capability.FirstLevel5LevelPaging)
                Throw.Iommu(Errno.EINVAL, "a 5-level first-level table needs CAP_REG.FL5LP, which this unit lacks");
            ValidateDomainId(domainId);
            ValidateTarget(secondLevel);
            WritePasidEntry(requesterId, pasid, domainId,
                PasidEntry.Nested(firstLevel.RootHpa, firstLevel.Levels, secondLevel.RootHpa, secondLevel.Levels - 2, domainId));
        }
    }

    /// <summary>Scalable mode: a pass-through PASID entry (PGTT = 100b), as <c>intel_pasid_setup_pass_through</c> does.</summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pasid">PASID.</param>
    /// <param name="domainId">DID (the identity domain's).</param>
    /// <exception cref="IommuException">As <see cref="SetupPasidSecondLevel"/>, and ENODEV without ECAP_REG.PT.</exception>
    public void SetupPasidPassThrough(ushort requesterId, uint pasid, ushort domainId)
    {
        lock (_lock)
        {
            RequireScalable();
            ValidateDomainId(domainId);
            ValidateTarget(null);
            WritePasidEntry(requesterId, pasid, domainId, PasidEntry.PassThrough(DefaultAddressWidth(), domainId));
        }
    }

    /// <summary>
    /// Scalable mode: tears a PASID entry down as <c>intel_pasid_tear_down_entry</c> does: clears P,
    /// invalidates the PASID cache (PASID-selective) and the IOTLB (PASID-selective), then zeroes the entry.
    /// </summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pasid">PASID.</param>
    /// <exception cref="IommuException">ENODEV in legacy mode; ENOENT when the entry is not present.</exception>
    public void TearDownPasidEntry(ushort requesterId, uint pasid)
    {
        lock (_lock)
        {
            RequireScalable();
            ushort did = 0;
            if (!_scalableDevices.TryGetValue(requesterId, out ScalableDevice? device) || !device.Pasids.Remove(pasid, out did))
                Throw.Iommu(Errno.ENOENT, $"PASID {pasid} of device {RequesterIds.Format(requesterId)} has no PASID entry on this unit");
            ulong entry = device.PasidTables[pasid >> 6] + (pasid & 63) * PasidEntry.Size;
            _memory.WriteUInt64(entry, _memory.ReadUInt64(entry) & ~1UL); // P = 0 first
            var flushes = new List<(ulong, ulong)> { PasidCacheSelective(did, pasid), PasidIotlb(did, pasid) };
            if (_atsDevices.Contains(requesterId))
                flushes.Add(DeviceTlbFlush(requesterId, pasid == device.RidPasid ? null : pasid, 0, AtsAddressRange.WholeSpaceShift));
            Submit([.. flushes]);
            for (ulong q = 0; q < PasidEntry.Size; q += 8)
                _memory.WriteUInt64(entry + q, 0);
        }
    }

    /// <summary>The DID of a present PASID entry, or null (scalable mode); for inspection.</summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pasid">PASID.</param>
    /// <returns>The DID, or null when no entry is present.</returns>
    public ushort? GetPasidDomain(ushort requesterId, uint pasid)
    {
        lock (_lock)
        {
            return _scalableDevices.TryGetValue(requesterId, out ScalableDevice? device) && device.Pasids.TryGetValue(pasid, out ushort did)
                ? did
                : null;
        }
    }

    /// <summary>HPA of the context entry of a requester id (for inspection and tests), or null when its
    /// context table does not exist.</summary>
    /// <param name="requesterId">Source id.</param>
    /// <returns>The entry's HPA (16-byte entries in legacy mode, 32-byte in scalable mode).</returns>
    public ulong? GetContextEntryAddress(ushort requesterId)
    {
        lock (_lock)
        {
            int key = ContextTableKey(requesterId);
            if (!_contextTables.TryGetValue(key, out ulong table))
                return null;
            return table + (ulong)(IsScalableMode ? (requesterId & 0x7F) * ScalableContextEntry.Size : (requesterId & 0xFF) * ContextEntry.Size);
        }
    }

    /// <summary>HPA of the PASID entry (requester id, PASID) (for inspection and tests), or null when its PASID table does not exist.</summary>
    /// <param name="requesterId">Source id.</param>
    /// <param name="pasid">PASID.</param>
    /// <returns>The 64-byte entry's HPA.</returns>
    public ulong? GetPasidEntryAddress(ushort requesterId, uint pasid)
    {
        lock (_lock)
        {
            return _scalableDevices.TryGetValue(requesterId, out ScalableDevice? device) && device.PasidTables.TryGetValue(pasid >> 6, out ulong table)
                ? table + (pasid & 63) * PasidEntry.Size
                : null;
        }
    }

    private void RequireLegacy()
    {
        if (IsScalableMode)
            Throw.Iommu(Errno.ENODEV, "this unit runs in scalable mode; legacy context entries do not exist there");
    }

    private void RequireScalable()
    {
        if (!IsScalableMode)
            Throw.Iommu(Errno.ENODEV, "this unit runs in legacy mode (no ECAP_REG.SMTS, or scalable mode switched off); PASID tables do not exist there");
    }

    private int DefaultAddressWidth()
    {
        for (int levels = 4; levels >= 3; levels--)
        {
            if (Capability.SupportsLevels(levels))
                return levels - 2;
        }
        return 3; // 5-level only
    }

    private void ValidateDomainId(ushort domainId)
    {
        if (domainId >= NumberOfDomains)
            Throw.Iommu(Errno.ERANGE, $"domain id {domainId} is beyond the {NumberOfDomains} domain ids of this unit (CAP_REG.ND)");
        if (domainId == 0 && Capability.CachingMode)
            Throw.Iommu(Errno.EINVAL, "domain id 0 is reserved on a unit with caching mode (CAP_REG.CM)");
    }

    private void ValidateTarget(SecondLevelPageTable? table)
    {
        if (table == null)
        {
            if (!ExtendedCapability.PassThrough)
                Throw.Iommu(Errno.ENODEV, "this unit has no pass-through translation (ECAP_REG.PT is clear)");
            return;
        }
        if (!ReferenceEquals(table.Memory, _memory))
            Throw.Iommu(Errno.EINVAL, "the page table lives in another simulated memory than this unit's");
        if (table.Format.Stage == PageTableStage.FirstLevel)
            return; // SetupPasidFirstLevel checks FLTS, FL5LP, FL1GP and the HAW
        if (!Capability.SupportsLevels(table.Levels))
            Throw.Iommu(Errno.EINVAL,
                $"a {table.Levels}-level table is not in this unit's SAGAW ({Capability.SupportedAdjustedGuestAddressWidths:x})");
        if ((table.Format.PageSizes & ~PageSizes) != 0)
            Throw.Iommu(Errno.EINVAL,
                $"the table may use leaf sizes {Throw.Hex((ulong)table.Format.PageSizes)} beyond this unit's SLLPS ({Throw.Hex((ulong)PageSizes)})");
        if (table.Format.HostAddressWidth > _hostAddressWidth)
            Throw.Iommu(Errno.EINVAL,
                $"the table's {table.Format.HostAddressWidth}-bit host address width exceeds this unit's {_hostAddressWidth} bits");
    }

    private int ContextTableKey(ushort requesterId) =>
        IsScalableMode ? (requesterId >> 8) * 2 + ((requesterId & 0xFF) >= 128 ? 1 : 0) : requesterId >> 8;

    /// <summary>HPA of a context entry; with <paramref name="allocate"/>, creates the bus's context table and root entry half.</summary>
    private ulong ContextEntryHpa(ushort requesterId, bool allocate)
    {
        int key = ContextTableKey(requesterId);
        if (!_contextTables.TryGetValue(key, out ulong table))
        {
            if (!allocate)
                Throw.Iommu(Errno.ENOENT, $"no context table for device {RequesterIds.Format(requesterId)}");
            table = _memory.Frames.Allocate();
            _contextTables.Add(key, table);
            // The new table is zeroed; the release store publishes it complete.
            ulong rootHalf = _rootTable + (ulong)(requesterId >> 8) * RootEntry.Size + (ulong)(IsScalableMode ? (key & 1) * 8 : 0);
            _memory.WriteUInt64(rootHalf, RootEntry.Half(table));
        }
        return table + (ulong)(IsScalableMode ? (requesterId & 0x7F) * ScalableContextEntry.Size : (requesterId & 0xFF) * ContextEntry.Size);
    }

    private void WriteLegacyContext(ushort requesterId, ushort domainId, ContextEntry entry)
    {
        if (_legacyDevices.ContainsKey(requesterId))
            Throw.Iommu(Errno.EBUSY, $"device {RequesterIds.Format(requesterId)} already has a context entry (clear it first)");
        ulong hpa = ContextEntryHpa(requesterId, allocate: true);
        _memory.WriteUInt64(hpa + 8, entry.High);
        _memory.WriteUInt64(hpa, entry.Low); // release store: P last
        _legacyDevices.Add(requesterId, domainId);
    }

    private void WritePasidEntry(ushort requesterId, uint pasid, ushort domainId, PasidEntry entry)
    {
        bool createdContext = false;
        if (!_scalableDevices.TryGetValue(requesterId, out ScalableDevice? device))
        {
            SetupScalableContext(requesterId);
            device = _scalableDevices[requesterId];
            createdContext = true;
        }
        try
        {
            if (pasid != device.RidPasid)
            {
                if (PasidWidth == 0)
                    Throw.Iommu(Errno.ENODEV, $"this unit does not support PASIDs (ECAP_REG.PASID is clear); only RID_PASID {device.RidPasid} can be set up");
                if (pasid >= 1u << PasidWidth)
                    Throw.Iommu(Errno.ERANGE, $"PASID {pasid} is beyond this unit's {PasidWidth}-bit PASID width");
            }
            if (device.Pasids.ContainsKey(pasid))
                Throw.Iommu(Errno.EBUSY, $"PASID {pasid} of device {RequesterIds.Format(requesterId)} already has a PASID entry (tear it down first)");

            if (!device.PasidTables.TryGetValue(pasid >> 6, out ulong pasidTable))
            {
                pasidTable = _memory.Frames.Allocate();
                device.PasidTables.Add(pasid >> 6, pasidTable);
                _memory.WriteUInt64(device.Directory + (ulong)(pasid >> 6) * PasidDirectoryEntry.Size, PasidDirectoryEntry.Create(pasidTable).Value);
            }
            ulong hpa = pasidTable + (pasid & 63) * PasidEntry.Size;
            _memory.WriteUInt64(hpa + 16, entry.Q2);
            _memory.WriteUInt64(hpa + 8, entry.Q1);
            _memory.WriteUInt64(hpa, entry.Q0); // release store: P last
            device.Pasids.Add(pasid, domainId);
        }
        catch (IommuException) when (createdContext)
        {
            ClearContextEntry(requesterId);
            throw;
        }
    }

    private void FlushContextDevice(ushort requesterId, ushort domainId) => Submit([ContextDevice(requesterId, domainId)]);

    private void FlushIotlbDomain(ushort domainId) => Submit([IotlbDomain(domainId)]);

    /// <summary>PASID entry torn down: PASID-selective PASID-cache invalidation, then PASID-based IOTLB invalidation.</summary>
    private void FlushPasid(ushort domainId, uint pasid) => Submit([PasidCacheSelective(domainId, pasid), PasidIotlb(domainId, pasid)]);

    private void FlushPasids(Dictionary<uint, ushort> pasids, ushort? atsDevice)
    {
        var descriptors = new List<(ulong, ulong)>(pasids.Count + 1);
        foreach ((uint pasid, ushort did) in pasids)
            descriptors.Add(PasidIotlb(did, pasid));
        if (atsDevice is ushort rid)
            descriptors.Add(DeviceTlbFlush(rid, null, 0, AtsAddressRange.WholeSpaceShift)); // no PASID: every entry of the ATC
        Submit([.. descriptors]);
    }

    /// <summary>Adds a device-TLB invalidation of <c>[address, address + 2^sizeShift)</c> for every ATS-enabled function
    /// that uses the domain (through the PASID given, or any PASID when null).</summary>
    private void AddDeviceTlbFlushes(List<(ulong, ulong)> descriptors, ushort domainId, uint? pasid, ulong address, int sizeShift)
    {
        if (_atsDevices.Count == 0)
            return;
        foreach ((ushort rid, ushort did) in _legacyDevices)
        {
            if (did == domainId && _atsDevices.Contains(rid))
                descriptors.Add(DeviceTlbFlush(rid, null, address, sizeShift));
        }
        foreach ((ushort rid, ScalableDevice device) in _scalableDevices)
        {
            if (!_atsDevices.Contains(rid))
                continue;
            foreach ((uint p, ushort did) in device.Pasids)
            {
                if (did == domainId && (pasid is null || pasid == p))
                    descriptors.Add(DeviceTlbFlush(rid, p == device.RidPasid ? null : p, address, sizeShift));
            }
        }
    }

    /// <summary>A device-TLB invalidation descriptor (type 3 without PASID, type 8 with one), the range in the PCIe ATS
    /// encoding (<see cref="AtsAddressRange"/>); MIP and PFSID 0 (no SR-IOV virtual functions are modelled).</summary>
    private static (ulong, ulong) DeviceTlbFlush(ushort requesterId, uint? pasid, ulong address, int sizeShift)
    {
        if (sizeShift < AtsAddressRange.WholeSpaceShift)
            address &= ~((1UL << sizeShift) - 1);
        (ulong bits, bool size) = AtsAddressRange.Encode(address, sizeShift);
        if (pasid is uint p)
            return (Type(InvalidationDescriptors.PasidDeviceTlb) | InvalidationDescriptors.PasidDeviceTlbSourceId.Encode(requesterId)
                    | InvalidationDescriptors.Pasid.Encode(p),
                bits | InvalidationDescriptors.PasidDeviceTlbSize.Encode(size ? 1UL : 0));
        return (Type(InvalidationDescriptors.DeviceTlb) | InvalidationDescriptors.DeviceTlbSourceId.Encode(requesterId),
            bits | InvalidationDescriptors.DeviceTlbSize.Encode(size ? 1UL : 0));
    }

    // Descriptors (VT-d spec 6.5.2), built from the fields defined once in InvalidationDescriptors.
    private static ulong Type(int type) =>
        InvalidationDescriptors.TypeLow.Encode((ulong)type & 0xF) | InvalidationDescriptors.TypeHigh.Encode((ulong)type >> 4);

    private static (ulong, ulong) ContextGlobal() =>
        (Type(InvalidationDescriptors.ContextCache) | InvalidationDescriptors.Granularity.Encode(1), 0);

    private static (ulong, ulong) ContextDevice(ushort requesterId, ushort domainId) =>
        (Type(InvalidationDescriptors.ContextCache) | InvalidationDescriptors.Granularity.Encode(3)
            | InvalidationDescriptors.DomainId.Encode(domainId) | InvalidationDescriptors.ContextSourceId.Encode(requesterId), 0);

    private static (ulong, ulong) IotlbGlobal() =>
        (Type(InvalidationDescriptors.Iotlb) | InvalidationDescriptors.Granularity.Encode(1), 0);

    private static (ulong, ulong) IotlbDomain(ushort domainId) =>
        (Type(InvalidationDescriptors.Iotlb) | InvalidationDescriptors.Granularity.Encode(2) | InvalidationDescriptors.DomainId.Encode(domainId), 0);

    private (ulong, ulong) IotlbPages(ushort domainId, uint? pasid, ulong address, int mask)
    {
        ulong w1 = (address & VtdRegisters.InvalidateAddress.Address.Mask) | VtdRegisters.InvalidateAddress.AddressMask.Encode((ulong)mask);
        if (pasid is uint p && IsScalableMode)
            return (Type(InvalidationDescriptors.PasidIotlb) | InvalidationDescriptors.Granularity.Encode(3)
                | InvalidationDescriptors.DomainId.Encode(domainId) | InvalidationDescriptors.Pasid.Encode(p), w1);
        return (Type(InvalidationDescriptors.Iotlb) | InvalidationDescriptors.Granularity.Encode(3) | InvalidationDescriptors.DomainId.Encode(domainId), w1);
    }

    private static (ulong, ulong) PasidIotlb(ushort domainId, uint pasid) =>
        (Type(InvalidationDescriptors.PasidIotlb) | InvalidationDescriptors.Granularity.Encode(2)
            | InvalidationDescriptors.DomainId.Encode(domainId) | InvalidationDescriptors.Pasid.Encode(pasid), 0);

    private static (ulong, ulong) PasidCacheSelective(ushort domainId, uint pasid) =>
        (Type(InvalidationDescriptors.PasidCache) | InvalidationDescriptors.Granularity.Encode(1)
            | InvalidationDescriptors.DomainId.Encode(domainId) | InvalidationDescriptors.Pasid.Encode(pasid), 0);

    /// <summary>
    /// Puts the descriptors and a wait descriptor (status write, fence) on the invalidation queue, moves IQT and
    /// checks the status write (<c>qi_submit_sync</c>). Without queued invalidation, issues each one through
    /// CCMD_REG or IOTLB_REG instead. Caller holds the lock (or is the constructor).
    /// </summary>
    private void Submit(ReadOnlySpan<(ulong W0, ulong W1)> descriptors)
    {
        if (!_queued)
        {
            foreach ((ulong w0, ulong w1) in descriptors)
                SubmitThroughRegisters(w0, w1);
            return;
        }
        ulong queueBytes = 4096UL << (int)QueueSizeField;
        int room = (int)(queueBytes / _descriptorBytes) - 2; // leave the wait and one empty slot
        while (descriptors.Length > room)
        {
            Submit(descriptors[..room]);
            descriptors = descriptors[room..];
        }
        foreach ((ulong w0, ulong w1) in descriptors)
            Put(w0, w1, queueBytes);
        uint token = ++_waitSequence;
        Put(Type(InvalidationDescriptors.Wait) | InvalidationDescriptors.WaitStatusWrite.Encode(1) | InvalidationDescriptors.WaitFence.Encode(1)
            | InvalidationDescriptors.WaitStatusData.Encode(token), _status, queueBytes);
        _registers.Write(VtdRegisters.InvalidationQueueTailOffset, 8, _tail);
        WaitForStatus(token);
    }

    /// <summary>
    /// Polls the wait descriptor's status write, as <c>qi_submit_sync</c> does: a wait behind device-TLB invalidations
    /// completes when the functions answer. FSTS_REG.ITE (a function did not answer in time): the wait was discarded;
    /// ITE is cleared and the driver goes on (<see cref="DeviceTlbTimeouts"/>). FSTS_REG.IQE is a driver bug.
    /// </summary>
    private void WaitForStatus(uint token)
    {
        var spinner = new SpinWait();
        long deadline = Environment.TickCount64 + (long)TimeSpan.FromMinutes(5).TotalMilliseconds;
        while ((uint)_memory.ReadUInt64(_status) != token)
        {
            ulong fsts = _registers.Read(VtdRegisters.FaultStatusOffset, 4);
            if (VtdRegisters.FaultStatus.InvalidationTimeoutError.IsSet(fsts))
            {
                Interlocked.Increment(ref _deviceTlbTimeouts);
                _registers.Write(VtdRegisters.FaultStatusOffset, 4, VtdRegisters.FaultStatus.InvalidationTimeoutError.Mask);
                return;
            }
            if (VtdRegisters.FaultStatus.InvalidationQueueError.IsSet(fsts) || Environment.TickCount64 > deadline)
            {
                ulong reason = VtdRegisters.QueueErrorInfo.Get(_registers.Read(VtdRegisters.InvalidationQueueErrorRecordOffset, 8));
                throw new InvalidOperationException(
                    $"the unit did not complete the invalidation queue (FSTS {Throw.Hex(fsts)}, IQERCD.IQEI {(InvalidationQueueError)reason}): a driver bug");
            }
            spinner.SpinOnce(sleep1Threshold: 64);
        }
    }

    private void Put(ulong w0, ulong w1, ulong queueBytes)
    {
        ulong at = _queue + _tail;
        _memory.WriteUInt64(at, w0);
        _memory.WriteUInt64(at + 8, w1);
        if (_descriptorBytes == 32)
        {
            _memory.WriteUInt64(at + 16, 0);
            _memory.WriteUInt64(at + 24, 0);
        }
        _tail = (_tail + _descriptorBytes) % queueBytes;
    }

    /// <summary>Register-based invalidation for a unit without queued invalidation (CCMD_REG, IVA_REG and IOTLB_REG).</summary>
    private void SubmitThroughRegisters(ulong w0, ulong w1)
    {
        ulong g = InvalidationDescriptors.Granularity.Get(w0);
        ulong did = InvalidationDescriptors.DomainId.Get(w0);
        switch (InvalidationDescriptors.TypeOf(w0))
        {
            case InvalidationDescriptors.ContextCache:
                _registers.Write(VtdRegisters.ContextCommandOffset, 8, VtdRegisters.ContextCommand.InvalidateContextCache.Encode(1)
                    | VtdRegisters.ContextCommand.RequestGranularity.Encode(g) | VtdRegisters.ContextCommand.DomainId.Encode(did)
                    | VtdRegisters.ContextCommand.SourceId.Encode(InvalidationDescriptors.ContextSourceId.Get(w0)));
                break;
            case InvalidationDescriptors.Iotlb:
            case InvalidationDescriptors.PasidIotlb:
                ulong iro = (ulong)ExtendedCapability.IotlbRegisterOffset * 16;
                if (g == 3)
                    _registers.Write(iro, 8, w1);
                ulong granularity = InvalidationDescriptors.TypeOf(w0) == InvalidationDescriptors.PasidIotlb ? (g == 3 ? 3UL : 2UL) : g;
                _registers.Write(iro + 8, 8, VtdRegisters.IotlbInvalidate.Invalidate.Encode(1)
                    | VtdRegisters.IotlbInvalidate.RequestGranularity.Encode(granularity) | VtdRegisters.IotlbInvalidate.DomainId.Encode(did));
                break;
            default:
                break; // PASID-cache descriptors exist only with the queue (scalable mode)
        }
    }

    /// <summary>Sets or clears one GCMD_REG command, keeping the others as GSTS_REG shows them (one-shot bits excepted).</summary>
    private void Command(RegisterField command, bool set)
    {
        ulong oneShots = VtdRegisters.GlobalCommand.SetRootTablePointer.Mask | VtdRegisters.GlobalCommand.SetFaultLog.Mask
            | VtdRegisters.GlobalCommand.WriteBufferFlush.Mask | VtdRegisters.GlobalCommand.SetInterruptRemapTablePointer.Mask;
        ulong status = _registers.Read(VtdRegisters.GlobalStatusOffset, 4) & ~oneShots;
        _registers.Write(VtdRegisters.GlobalCommandOffset, 4, set ? status | command.Mask : status & ~command.Mask);
    }
}
