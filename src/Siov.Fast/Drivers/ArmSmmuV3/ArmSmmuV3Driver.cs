using Siov.Fast.Ats;
using Siov.Fast.Hardware;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;
using static Siov.Fast.Hardware.SmmuV3.SmmuRegisters;

namespace Siov.Fast.Drivers.ArmSmmuV3;

/// <summary>
/// The arm-smmu-v3 driver's role for one SMMUv3 (<c>struct arm_smmu_device</c>): it sees only the SMMU's registers
/// (<see cref="IMmioRegion"/>) and simulated memory, and implements the core's ops (<see cref="IIommuDriver"/>). It brings
/// the SMMU up as Linux does (a 2-level stream table with SPLIT 8, the command and event queues, GBPA abort, CR0 with the
/// queues then SMMUEN), and after each table change issues the commands the architecture asks for: an STE or CD is made
/// invalid, CMD_CFGI_* and CMD_SYNC, its words written with word 0 last, then CMD_CFGI_* and CMD_SYNC again; unmaps are
/// followed by CMD_TLBI_NH_VA (or CMD_TLBI_NH_ASID past 512 pages) and CMD_SYNC, then, for the domain's ATS-enabled
/// streams, CMD_ATC_INV and CMD_SYNC (<c>arm_smmu_tlb_inv_range_domain</c>, <c>arm_smmu_atc_inv_domain</c>).
/// </summary>
/// <remarks>
/// <para>Domains. A DMA or unmanaged domain is a stage 1 domain whose ASID is the domain id the core gives it on this
/// SMMU. Each stage 1 stream has a 2-level CD table of its own (the master's, as in Linux since per-master CD tables): CD 0
/// holds its primary domain's table and its STE (Config stage 1, S1DSS = substream 0) points at it. When the last CD
/// holding an ASID goes (<c>_asidUsers</c>), CMD_TLBI_NH_ASID makes the ASID free for another domain. An identity domain is
/// an STE with Config bypass, a blocked or detached stream one with Config abort. A stage 2 table
/// (<see cref="PageTableStage.ArmStage2"/>) given to <see cref="AttachDevice"/> makes a stage 2 STE with the id as VMID.</para>
/// <para>Aux domains (seed 004). <see cref="SetDevicePasid"/> writes the aux domain's CD at its SSID in the parent
/// device's CD table, so only that device reaches it (a neighbour attached to the same primary domain does not: seed 004's
/// driver shared one CD table per domain, which let such a neighbour's DMA reach another owner's aux domain); the rules
/// (<see cref="StickyAttachModes"/>, <see cref="CheckAuxAttach"/>) keep an aux domain on one parent domain. The aux detach
/// (<see cref="RemoveDevicePasid"/>) clears the departing device's CD (CMD_CFGI_CD, CMD_SYNC) and invalidates only its ATC
/// at that SSID while other devices keep theirs; the ASID is invalidated with the last CD holding it.</para>
/// <para>ATS (<c>arm_smmu_enable_ats</c>). Where SMMU_IDR0.ATS is set the driver turns on SMMU_CR0.ATSCHK at boot, and
/// <see cref="EnableDeviceAts"/> marks a stream before its first attach: every STE written for it from then on has
/// EATS = 0b01 (in the STE before the function's ATS is used, as Linux orders it), every TLB invalidation of a domain is
/// followed by CMD_ATC_INV for its ATS-enabled streams (with the SSID for an aux domain's CD), and a detach writes the
/// abort STE first and then invalidates the stream's whole ATC. A CMD_SYNC that fails with CERROR_ATC_INV_SYNC (a function
/// that did not answer) is acknowledged and run again, as Linux's <c>arm_smmu_cmdq_skip_err</c> does
/// (<see cref="AtcInvalidationTimeouts"/>).</para>
/// <para>Not modelled by this driver: nesting and stage 1 tables of a guest (EOPNOTSUPP), dirty tracking (EOPNOTSUPP), PRI
/// (the SMMU model has no PRI queue; page requests are not enabled). Events are read into <see cref="EventLog"/>;
/// <see cref="Faults"/>, a VT-d fault record log, stays empty.</para>
/// <para>Calls serialize on one lock.</para>
/// </remarks>
public sealed class ArmSmmuV3Driver : IIommuDriver
{
    private const int Split = 8;                   // StreamID bits a level-2 stream table resolves (256 STEs, 16 KiB)
    private const int QueueLog2 = 8;               // 256 commands, 256 events
    private const int CdLeafBits = 8;              // 256 CDs (16 KiB) per level-2 CD table: S1Fmt = 1
    private const int MaxPagesPerRange = 512;      // past this many pages, one CMD_TLBI_NH_ASID

    private readonly Lock _lock = new();
    private readonly IMmioRegion _registers;
    private readonly PhysicalMemory _memory;
    private readonly ulong _streamTableL1, _cmdq, _eventq, _syncWord;
    private readonly Dictionary<uint, ulong> _l2StreamTables = [];   // StreamID >> SPLIT -> level-2 table
    private readonly Dictionary<uint, StreamState> _streams = [];    // attached streams
    private readonly Dictionary<uint, CdTable> _cdTables = [];       // StreamID of a stage 1 stream -> its CD table
    private readonly Dictionary<ushort, int> _asidUsers = [];        // ASID -> CDs holding it, over every CD table
    private readonly HashSet<ushort> _stage2Vmids = [];
    private readonly HashSet<uint> _atsStreams = [];                 // streams whose STEs get EATS = 0b01
    private readonly Stack<ulong> _spareCdL1 = new(), _spareCdLeaves = new(); // contiguous frames are not reused by the allocator
    private readonly Queue<string> _eventLog = new();
    private readonly int _cdL1Entries, _asidBits;
    private readonly bool _ats;
    private uint _cmdProd, _eventCons, _syncCount;
    private long _atcTimeouts;

    /// <summary>What a stream is attached to.</summary>
    private sealed class StreamState
    {
        public ushort Id;                     // ASID (stage 1) or VMID (stage 2); 0 for bypass
        public int Config;                    // StreamTableEntry.Config*
    }

    /// <summary>A stage 1 stream's CD table (the master's, as Linux's <c>arm_smmu_master</c> has it): CD 0 is its primary
    /// domain's, the others hold its aux domains and PASID attachments at their SSIDs.</summary>
    private sealed class CdTable(ulong l1, ushort asid)
    {
        public readonly ulong L1 = l1;
        public readonly ushort Asid = asid;                               // CD 0's: the stream's primary domain
        public readonly Dictionary<uint, ulong> Leaves = [];            // SSID >> 8 -> level-2 CD table
        public uint? Sid;                                                 // the stream whose STE points here, once it does
        public readonly Dictionary<uint, ushort> Substreams = [];         // SSID -> ASID of the aux domain's CD
    }

    /// <summary>Takes charge of an SMMU at reset: reads the ID registers, allocates the stream table, queues and a sync
    /// word, and enables the SMMU.</summary>
    /// <param name="registers">The SMMU's register region.</param>
    /// <param name="memory">The memory its tables live in.</param>
    /// <param name="name">The device name in log lines (Linux: <c>arm-smmu-v3.0.auto</c>).</param>
    /// <exception cref="IommuException">EOPNOTSUPP when the SMMU has no 2-level stream tables, no stage 1 or no 2-level CD
    /// tables; ENOMEM when memory is full.</exception>
    public ArmSmmuV3Driver(IMmioRegion registers, PhysicalMemory memory, string name = "arm-smmu-v3.0.auto")
    {
        ArgumentNullException.ThrowIfNull(registers);
        ArgumentNullException.ThrowIfNull(memory);
        _registers = registers;
        _memory = memory;
        DeviceName = name;
        uint idr0 = (uint)registers.Read(Idr0, 4), idr1 = (uint)registers.Read(Idr1, 4), idr5 = (uint)registers.Read(Idr5, 4);
        if (Idr0Fields.StreamTableLevels.Get(idr0) != 1 || !Idr0Fields.Stage1.IsSet(idr0) || !Idr0Fields.TwoLevelCdTables.IsSet(idr0))
            Throw.Iommu(Errno.EOPNOTSUPP, "the SMMU lacks 2-level stream tables, stage 1 or 2-level CD tables, which this driver uses");
        StreamIdBits = (int)Idr1Fields.StreamIdSize.Get(idr1);
        RangeInvalidation = Idr3Fields.RangeInvalidation.IsSet((uint)registers.Read(Idr3, 4));
        SubstreamIdBits = (int)Idr1Fields.SubstreamIdSize.Get(idr1);
        _asidBits = Idr0Fields.Asid16.IsSet(idr0) ? 16 : 8;
        _ats = Idr0Fields.Ats.IsSet(idr0);
        HostAddressWidth = Math.Min(48, Idr5Fields.Bits((int)Idr5Fields.OutputAddressSize.Get(idr5)));
        RegisterBase = registers is IIommuHardware hardware ? hardware.RegisterBase : 0;
        UnitName = $"smmu3.0x{RegisterBase:x16}";
        _cdL1Entries = 1 << Math.Max(0, SubstreamIdBits - CdLeafBits);
        _streamTableL1 = _memory.Frames.AllocateContiguous(Frames((1L << Math.Max(0, StreamIdBits - Split)) * 8));
        _cmdq = _memory.Frames.AllocateContiguous(Frames((1L << QueueLog2) * SmmuCommand.Size));
        _eventq = _memory.Frames.AllocateContiguous(Frames((1L << QueueLog2) * Smmu.EventFields.Size));
        _syncWord = _memory.Frames.Allocate();

        registers.Write(StrtabBase, 8, _streamTableL1 & StrtabBaseFields.Address.Mask);
        registers.Write(StrtabBaseCfg, 4, StrtabBaseCfgFields.Format.Encode(1) | StrtabBaseCfgFields.Split.Encode(Split)
            | StrtabBaseCfgFields.Log2Size.Encode((ulong)StreamIdBits));
        registers.Write(CmdqBase, 8, (_cmdq & QueueBaseFields.Address.Mask) | QueueBaseFields.Log2Size.Encode(QueueLog2));
        registers.Write(EventqBase, 8, (_eventq & QueueBaseFields.Address.Mask) | QueueBaseFields.Log2Size.Encode(QueueLog2));
        registers.Write(CmdqProd, 4, 0);
        registers.Write(EventqCons, 4, 0);
        registers.Write(Gbpa, 4, GbpaFields.Update.Encode(1) | GbpaFields.Abort.Encode(1));
        uint queues = (uint)(Cr0Fields.EventQueueEnable.Mask | Cr0Fields.CommandQueueEnable.Mask)
            | (_ats ? (uint)Cr0Fields.AtsCheck.Mask : 0); // translated transactions checked against STE.EATS
        SetCr0(queues);
        Submit([(SmmuCommand.Opcode.Encode(SmmuCommand.CfgiSteRange), SmmuCommand.Range.Encode(31)),
            (SmmuCommand.Opcode.Encode(SmmuCommand.TlbiNsnhAll), 0)]);
        SetCr0(queues | (uint)Cr0Fields.SmmuEnable.Mask);
        if (registers is Smmu smmu)
            smmu.EventRecorded += (_, _) => DrainEvents();
    }

    /// <summary>The kernel driver's name: <c>arm-smmu-v3</c>.</summary>
    public string Name => "arm-smmu-v3";

    /// <summary>The device name in event log lines (Linux: <c>arm-smmu-v3.0.auto</c>).</summary>
    public string DeviceName { get; }

    /// <summary>The SMMU's register base (from the hardware when it tells it, else 0).</summary>
    public ulong RegisterBase { get; }

    /// <summary>The name Linux gives the SMMU's <c>iommu_device</c> in sysfs: <c>smmu3.0x</c> and the register base in 16 hex
    /// digits.</summary>
    public string UnitName { get; }

    /// <summary>Whether the SMMU has range invalidation (SMMU_IDR3.RIL): unmaps are then invalidated with range
    /// CMD_TLBI_NH_VA commands instead of one per page.</summary>
    public bool RangeInvalidation { get; }

    /// <summary>StreamID bits (SMMU_IDR1.SIDSIZE).</summary>
    public int StreamIdBits { get; }

    /// <summary>SubstreamID bits (SMMU_IDR1.SSIDSIZE): the PASID width the driver offers.</summary>
    public int SubstreamIdBits { get; }

    /// <inheritdoc/>
    public int PasidWidth => SubstreamIdBits;

    /// <summary>True: an identity domain is an STE with Config bypass.</summary>
    public bool SupportsIdentityDomain => true;

    /// <summary>4 KiB pages, 2 MiB and 1 GiB blocks (the 4 KiB granule).</summary>
    public PageSizes PageSizes => PageSizes.All;

    /// <summary><see cref="PageTableStage.ArmStage1"/>: DMA domains are stage 1, as Linux makes them where the SMMU has it.</summary>
    public PageTableStage DomainTableStage => PageTableStage.ArmStage1;

    /// <summary>The output address size (SMMU_IDR5.OAS), at most 48 bits (the 4 KiB granule's descriptors).</summary>
    public int HostAddressWidth { get; }

    /// <summary>ASIDs: 65,536 with SMMU_IDR0.ASID16, else 256 (ASID 0 unused).</summary>
    public int NumberOfDomains => 1 << _asidBits;

    /// <summary>3 or 4 levels (39- or 48-bit input with the 4 KiB granule).</summary>
    /// <param name="levels">Levels.</param>
    /// <returns>True for 3 and 4.</returns>
    public bool SupportsLevels(int levels) => levels is 3 or 4;

    /// <summary>Empty: the SMMU reports faults as events, read into <see cref="EventLog"/>.</summary>
    public FaultLog Faults { get; } = new(1);

    /// <summary>True: seed 004's rule, a domain's first attach mode (normal or aux) sticks for its life.</summary>
    public bool StickyAttachModes => true;

    /// <summary>The last 256 event log lines, as Linux's <c>arm_smmu_evtq_thread</c> prints an event: <c>event 0xNN
    /// received:</c> then its four words, each <c>\t0x%016llx</c>; oldest first.</summary>
    public IReadOnlyList<string> EventLog
    {
        get
        {
            lock (_eventLog)
                return [.. _eventLog];
        }
    }

    /// <summary>Never raised: the SMMU model has no PRI queue yet.</summary>
    public event EventHandler<PageRequest>? PageRequestReported
    {
        add { }
        remove { }
    }

    private static int Frames(long bytes) => (int)Math.Max(1, (bytes + 4095) / 4096);

    private void SetCr0(uint value)
    {
        _registers.Write(Cr0, 4, value);
        if ((uint)_registers.Read(Cr0Ack, 4) != value)
            throw new InvalidOperationException($"CR0ACK did not follow CR0 {Throw.Hex(value)}: a driver bug");
    }

    /// <summary>
    /// Enables ATS for a stream before its first attach (<c>arm_smmu_enable_ats</c> with <c>arm_smmu_ats_supported</c>):
    /// every STE the driver writes for it from now on has EATS = 0b01, and the ATC of the function is invalidated
    /// (CMD_ATC_INV, CMD_SYNC) after every TLB invalidation of its domains and at its detach.
    /// </summary>
    /// <param name="requesterId">StreamID.</param>
    /// <param name="pageRequests">Ignored: the SMMU model has no PRI queue, so PRI stays off.</param>
    /// <returns>False when the SMMU has no ATS (SMMU_IDR0.ATS clear): EATS stays 0, as in Linux.</returns>
    /// <exception cref="IommuException">EBUSY when the stream is attached already; EINVAL for a StreamID beyond
    /// SIDSIZE.</exception>
    public bool EnableDeviceAts(ushort requesterId, bool pageRequests)
    {
        if (!_ats)
            return false;
        lock (_lock)
        {
            CheckStream(requesterId);
            if (_streams.ContainsKey(requesterId))
                Throw.Iommu(Errno.EBUSY, $"StreamID {Throw.Hex(requesterId)} is attached already: ATS is enabled before the first attach");
            _atsStreams.Add(requesterId);
            return true;
        }
    }

    /// <summary>Forgets a stream's ATS (its probe failed, or the function went away): STEs written later have EATS = 0.</summary>
    /// <param name="requesterId">StreamID.</param>
    public void DisableDeviceAts(ushort requesterId)
    {
        lock (_lock)
            _atsStreams.Remove(requesterId);
    }

    /// <summary>Whether the driver enabled ATS for the stream.</summary>
    /// <param name="requesterId">StreamID.</param>
    /// <returns>True when enabled.</returns>
    public bool IsAtsEnabled(ushort requesterId)
    {
        lock (_lock)
            return _atsStreams.Contains(requesterId);
    }

    /// <summary>CMD_SYNCs that failed with CERROR_ATC_INV_SYNC (a function did not answer an ATC invalidation in time); the
    /// driver acknowledged each and ran the CMD_SYNC again, as Linux does for a function that is gone.</summary>
    public long AtcInvalidationTimeouts => Volatile.Read(ref _atcTimeouts);

    /// <summary>False: no PRI queue is modelled, so no page requests reach this driver.</summary>
    public bool SupportsPageRequests => false;

    /// <summary>EOPNOTSUPP: no page requests reach this driver.</summary>
    /// <param name="response">The answer.</param>
    /// <exception cref="IommuException">EOPNOTSUPP always.</exception>
    public void PageResponse(in PageGroupResponse response) =>
        Throw.Iommu(Errno.EOPNOTSUPP, $"{UnitName} takes no page requests (no PRI queue is modelled)");

    /// <summary>
    /// Points the transactions without SubstreamID of a stream at a domain (<c>arm_smmu_attach_dev</c>): a stage 1 table
    /// goes in CD 0 of the domain's CD table (created at the domain's first stream) and the STE says stage 1 with S1DSS
    /// substream 0; a stage 2 table makes a stage 2 STE with <paramref name="domainId"/> as VMID; null makes the STE bypass.
    /// </summary>
    /// <param name="requesterId">The StreamID.</param>
    /// <param name="domainId">The ASID (stage 1) or VMID (stage 2).</param>
    /// <param name="table">An <see cref="PageTableStage.ArmStage1"/> or <see cref="PageTableStage.ArmStage2"/> table of 3
    /// or 4 levels, or null for bypass.</param>
    /// <exception cref="IommuException">EBUSY when the stream is attached already; EINVAL for a table of a VT-d format, an
    /// id 0, a StreamID beyond SIDSIZE, or a table other than the one the ASID's domain already has; ERANGE for an ASID
    /// beyond the SMMU's; ENOMEM.</exception>
    public void AttachDevice(ushort requesterId, ushort domainId, SecondLevelPageTable? table)
    {
        uint sid = requesterId;
        lock (_lock)
        {
            CheckStream(sid);
            if (_streams.ContainsKey(sid))
                Throw.Iommu(Errno.EBUSY, $"StreamID {Throw.Hex(sid)} is attached already; detach it first");
            if (table == null)
            {
                WriteSte(sid, StreamTableEntry.Create(StreamTableEntry.ConfigBypass));
                _streams.Add(sid, new StreamState { Config = StreamTableEntry.ConfigBypass });
                return;
            }
            CheckDomainId(domainId);
            if (table.Format.Stage == PageTableStage.ArmStage2)
            {
                WriteSte(sid, StreamTableEntry.Create(StreamTableEntry.ConfigStage2, vmid: domainId, s2Ttb: table.RootHpa,
                    s2InputBits: table.AddressWidth, s2StartLevel: 4 - table.Levels));
                _streams.Add(sid, new StreamState { Id = domainId, Config = StreamTableEntry.ConfigStage2 });
                _stage2Vmids.Add(domainId);
                return;
            }
            CheckStage1(table);
            CdTable cds = NewCdTable(domainId, table);
            WriteSte(sid, StreamTableEntry.Create(StreamTableEntry.ConfigStage1, cds.L1, SubstreamIdBits, s1Format: 1, defaultSubstream: 2));
            cds.Sid = sid;
            _cdTables.Add(sid, cds);
            AddAsidUser(domainId);
            _streams.Add(sid, new StreamState { Id = domainId, Config = StreamTableEntry.ConfigStage1 });
        }
    }

    /// <summary>Makes the stream abort (an STE with Config abort, as a detached stream is with <c>disable_bypass</c>), then,
    /// for an ATS-enabled stream, invalidates its whole ATC (CMD_ATC_INV without SSV, Size 52; CMD_SYNC): after the STE, so
    /// that no translation request can refill it. The last stream of a stage 1 domain takes its CD table with it and
    /// invalidates its ASID (CMD_TLBI_NH_ASID), so the ASID can serve another domain; a stage 2 domain's last stream
    /// invalidates its VMID (CMD_TLBI_S12_VMALL).</summary>
    /// <param name="requesterId">The StreamID.</param>
    /// <exception cref="IommuException">ENOENT when the stream is not attached; EBUSY while it has SSIDs attached (aux
    /// domains hang on its domain's CD table: detach them first).</exception>
    public void DetachDevice(ushort requesterId)
    {
        uint sid = requesterId;
        lock (_lock)
        {
            if (!_streams.TryGetValue(sid, out StreamState? stream))
                Throw.Iommu(Errno.ENOENT, $"StreamID {Throw.Hex(sid)} is not attached");
            if (_cdTables.GetValueOrDefault(sid)?.Substreams.Count is > 0 and int ssids)
                Throw.Iommu(Errno.EBUSY, $"StreamID {Throw.Hex(sid)} has {ssids} SSID(s) attached in its CD table; detach them first");
            WriteSte(sid, StreamTableEntry.Create(StreamTableEntry.ConfigAbort));
            if (_atsStreams.Contains(sid))
                Submit([AtcInv(sid, null, 0, 0)]);
            _streams.Remove(sid);
            if (stream.Config == StreamTableEntry.ConfigStage1)
            {
                ReleaseCdTable(sid, _cdTables[sid]);
                RemoveAsidUser(stream.Id);
            }
            else if (stream.Config == StreamTableEntry.ConfigStage2 && !_streams.Values.Any(s => s.Config == StreamTableEntry.ConfigStage2 && s.Id == stream.Id))
            {
                _stage2Vmids.Remove(stream.Id);
                Submit([(SmmuCommand.Opcode.Encode(SmmuCommand.TlbiS12Vmall) | SmmuCommand.Vmid.Encode(stream.Id), 0)]);
            }
        }
    }

    /// <summary>
    /// Attaches an aux domain (or a PASID attachment) at SubstreamID <paramref name="pasid"/> of a stream (seed 004's
    /// <c>arm_smmu_aux_attach_dev</c>): its CD goes at that SSID of the stream's own CD table, whose CD 0 is the parent
    /// (primary) domain. A second device attaching the same aux domain gets a CD of its own.
    /// </summary>
    /// <param name="requesterId">The StreamID.</param>
    /// <param name="pasid">The SSID, 1 to 2^SSIDSIZE - 1.</param>
    /// <param name="domainId">The aux domain's ASID.</param>
    /// <param name="table">Its <see cref="PageTableStage.ArmStage1"/> table.</param>
    /// <exception cref="IommuException">EINVAL when the stream has no stage 1 domain (a parent is needed), for SSID 0, a
    /// table of another format or an ASID already used with another table; ERANGE for an SSID beyond SSIDSIZE or an ASID
    /// beyond the SMMU's; EBUSY when the stream has that SSID attached already or another domain's CD is there; EOPNOTSUPP
    /// for a pass-through PASID (a CD always translates); ENOMEM.</exception>
    public void SetDevicePasid(ushort requesterId, uint pasid, ushort domainId, SecondLevelPageTable? table)
    {
        uint sid = requesterId;
        if (table == null)
            Throw.Iommu(Errno.EOPNOTSUPP, $"SSID {pasid}: a CD always translates through a stage 1 table; the SMMU has no pass-through per SubstreamID");
        if (pasid == 0)
            Throw.Iommu(Errno.EINVAL, "SSID 0 is CD 0, the parent domain's own; aux domains take SSIDs from 1");
        if (pasid >= 1u << SubstreamIdBits)
            Throw.Iommu(Errno.ERANGE, $"SSID {pasid} is beyond the SMMU's {SubstreamIdBits} SubstreamID bits");
        CheckStage1(table);
        lock (_lock)
        {
            CheckDomainId(domainId);
            if (!_streams.TryGetValue(sid, out StreamState? stream) || stream.Config != StreamTableEntry.ConfigStage1)
                throw new IommuException(Errno.EINVAL, $"StreamID {Throw.Hex(sid)} has no stage 1 domain whose CD table could hold SSID {pasid}");
            CdTable cds = _cdTables[sid];
            if (cds.Substreams.ContainsKey(pasid))
                Throw.Iommu(Errno.EBUSY, $"SSID {pasid} of StreamID {Throw.Hex(sid)} is attached already");
            if (domainId == cds.Asid)
                Throw.Iommu(Errno.EINVAL, $"ASID {domainId} is StreamID {Throw.Hex(sid)}'s primary domain; it cannot also sit at SSID {pasid}");
            WriteCd(cds, pasid, ContextDescriptor.Create(table.RootHpa, domainId, table.AddressWidth));
            cds.Substreams.Add(pasid, domainId);
            AddAsidUser(domainId);
        }
    }

    /// <summary>Stage 1 tables of a guest (nesting) are not modelled by this driver.</summary>
    /// <param name="requesterId">StreamID.</param>
    /// <param name="pasid">SSID or null.</param>
    /// <param name="domainId">ASID.</param>
    /// <param name="stage1">The guest's table.</param>
    /// <param name="secondStage">The stage 2 parent.</param>
    /// <exception cref="IommuException">EOPNOTSUPP always.</exception>
    public void SetDevicePasidStage1(ushort requesterId, uint? pasid, ushort domainId, Stage1Table stage1, SecondLevelPageTable? secondStage) =>
        Throw.Iommu(Errno.EOPNOTSUPP, $"{UnitName}: nested stage 1 tables (a guest's CD table over stage 2) are not modelled by this driver");

    /// <summary>
    /// Detaches SSID <paramref name="pasid"/> from a stream (seed 004's <c>arm_smmu_aux_detach_dev</c>): the stream's CD
    /// is cleared (V first, CMD_CFGI_CD and CMD_SYNC), then, for an ATS-enabled stream, its ATC is invalidated at that SSID
    /// (CMD_ATC_INV with SSV; CMD_SYNC): only this device's, while other devices keep the aux domain in their own tables.
    /// With the last CD holding the aux domain's ASID, CMD_TLBI_NH_ASID.
    /// </summary>
    /// <param name="requesterId">The StreamID.</param>
    /// <param name="pasid">The SSID.</param>
    /// <exception cref="IommuException">ENOENT when the stream has nothing attached at that SSID.</exception>
    public void RemoveDevicePasid(ushort requesterId, uint pasid)
    {
        uint sid = requesterId;
        lock (_lock)
        {
            if (!_cdTables.TryGetValue(sid, out CdTable? cds) || !cds.Substreams.Remove(pasid, out ushort asid))
                throw new IommuException(Errno.ENOENT, $"SSID {pasid} of StreamID {Throw.Hex(sid)} is not attached");
            ClearCd(cds, pasid);
            RemoveAsidUser(asid);
            if (_atsStreams.Contains(sid))
                Submit([AtcInv(sid, pasid, 0, 0)]); // this device's ATC only: no other stream has a CD at this SSID for it
        }
    }

    /// <summary>Invalidates <c>[iova, iova + size)</c> of a domain after an unmap (<c>arm_smmu_tlb_inv_range_domain</c>):
    /// CMD_TLBI_NH_VA per 4 KiB page, or one CMD_TLBI_NH_ASID past 512 pages, then CMD_SYNC; for a stage 2 domain,
    /// CMD_TLBI_S12_VMALL. Then, as <c>arm_smmu_atc_inv_domain</c>, CMD_ATC_INV for every ATS-enabled stream that reaches
    /// the domain, covering the range with the smallest naturally aligned power of two of pages
    /// (<c>arm_smmu_atc_inv_to_cmd</c>): without SSV for a domain in CD 0 or a stage 2 STE, with SSV and the SSID for an aux
    /// domain's CD (every stream that has it attached); and CMD_SYNC.</summary>
    /// <param name="domainId">The ASID (or VMID).</param>
    /// <param name="pasid">Ignored: the ASID tags the domain's entries whatever the SSID.</param>
    /// <param name="iova">First IOVA.</param>
    /// <param name="size">Bytes, at least 1.</param>
    /// <exception cref="IommuException">EINVAL for a zero size or a range that wraps.</exception>
    public void FlushIotlbRange(ushort domainId, uint? pasid, ulong iova, ulong size)
    {
        if (size == 0 || iova + size - 1 < iova)
            Throw.Iommu(Errno.EINVAL, $"TLB range [{Throw.Hex(iova)}, +{Throw.Hex(size)}) is empty or wraps");
        ulong first = iova >> 12, last = (iova + size - 1) >> 12;
        lock (_lock)
        {
            if (_stage2Vmids.Contains(domainId))
                Submit([(SmmuCommand.Opcode.Encode(SmmuCommand.TlbiS12Vmall) | SmmuCommand.Vmid.Encode(domainId), 0)]);
            if (RangeInvalidation)
            {
                Submit([.. RangeTlbi(domainId, first, last - first + 1)]);
            }
            else if (last - first + 1 > MaxPagesPerRange)
            {
                Submit([TlbiNhAsid(domainId)]);
            }
            else
            {
                var commands = new (ulong, ulong)[last - first + 1];
                for (ulong page = first; page <= last; page++)
                    commands[page - first] = (SmmuCommand.Opcode.Encode(SmmuCommand.TlbiNhVa) | SmmuCommand.Asid.Encode(domainId), (page << 12) | SmmuCommand.Leaf.Encode(1));
                Submit(commands);
            }
            // The ATCs after the TLB, each batch with its CMD_SYNC: a translation request answered before the TLBI
            // completed could otherwise refill an ATC with the old translation.
            List<(ulong, ulong)> atcs = AtcInvalidationsOf(domainId, iova, size);
            if (atcs.Count > 0)
                Submit([.. atcs]);
        }
    }

    /// <summary>Range CMD_TLBI_NH_VA for <paramref name="pages"/> 4 KiB pages from page <paramref name="firstPage"/>, as
    /// Linux's <c>arm_smmu_tlb_inv_range_cmdq</c> cuts a range with SMMU_IDR3.RIL: each command covers NUM + 1 (up to 32)
    /// chunks of 2^SCALE pages, SCALE the lowest set bit of the pages left, TG 4 KiB; a few commands cover any range.</summary>
    private static List<(ulong, ulong)> RangeTlbi(ushort asid, ulong firstPage, ulong pages)
    {
        var commands = new List<(ulong, ulong)>();
        ulong page = firstPage;
        while (pages > 0)
        {
            int scale = System.Numerics.BitOperations.TrailingZeroCount(pages);
            ulong num = (pages >> scale) & 31;
            commands.Add((SmmuCommand.Opcode.Encode(SmmuCommand.TlbiNhVa) | SmmuCommand.Asid.Encode(asid)
                    | SmmuCommand.TlbiNum.Encode(num - 1) | SmmuCommand.TlbiScale.Encode((ulong)scale),
                (page << 12) | SmmuCommand.TlbiGranule.Encode(1) | SmmuCommand.Leaf.Encode(1)));
            page += num << scale;
            pages -= num << scale;
        }
        return commands;
    }

    /// <summary>CMD_ATC_INV for every ATS-enabled stream through which a domain's translations can reach an ATC: the
    /// streams whose CD 0 it is (no SSV), the streams whose CD table holds it as an aux domain (SSV, its SSID),
    /// and the stage 2 STEs with its VMID (no SSV).</summary>
    private List<(ulong, ulong)> AtcInvalidationsOf(ushort domainId, ulong iova, ulong size)
    {
        var commands = new List<(ulong, ulong)>();
        if (_atsStreams.Count == 0)
            return commands;
        foreach (CdTable cds in _cdTables.Values)
        {
            if (cds.Sid is not uint sid || !_atsStreams.Contains(sid))
                continue;
            if (cds.Asid == domainId)
                commands.Add(AtcInv(sid, null, iova, size));
            foreach ((uint ssid, ushort asid) in cds.Substreams)
            {
                if (asid == domainId)
                    commands.Add(AtcInv(sid, ssid, iova, size));
            }
        }
        foreach ((uint sid, StreamState stream) in _streams)
        {
            if (stream.Config == StreamTableEntry.ConfigStage2 && stream.Id == domainId && _atsStreams.Contains(sid))
                commands.Add(AtcInv(sid, null, iova, size));
        }
        return commands;
    }

    /// <summary>EOPNOTSUPP: the SMMU model has no hardware dirty state (HTTU).</summary>
    /// <param name="domainId">The ASID.</param>
    /// <param name="enabled">On or off.</param>
    /// <exception cref="IommuException">EOPNOTSUPP always.</exception>
    public void SetDirtyTracking(ushort domainId, bool enabled) =>
        Throw.Iommu(Errno.EOPNOTSUPP, $"{UnitName} has no dirty-bit tracking (SMMU_IDR0.HTTU is not modelled)");

    /// <summary>EPERM when the domain has been an aux domain: it stays one (seed 004).</summary>
    /// <param name="domain">The domain.</param>
    /// <param name="device">The device.</param>
    /// <exception cref="IommuException">EPERM as described.</exception>
    public void CheckNormalAttach(IommuDomain domain, PciDevice device)
    {
        ArgumentNullException.ThrowIfNull(domain);
        if ((domain.Mode & DomainAttachMode.Aux) != 0)
            throw new IommuException(Errno.EPERM, $"SMMUv3 rule: {domain} is an aux domain and stays one (the mode is sticky); it cannot be attached normally to {device}");
    }

    /// <summary>The device's primary domain becomes the aux domain's parent (seed 004): EPERM when the domain has been
    /// normal or has another parent; EINVAL when the device has no primary domain, or one without a CD table (identity or
    /// blocked).</summary>
    /// <param name="domain">The aux domain.</param>
    /// <param name="device">The parent device.</param>
    /// <returns>The parent domain.</returns>
    /// <exception cref="IommuException">EPERM or EINVAL as described.</exception>
    public IommuDomain? CheckAuxAttach(IommuDomain domain, PciDevice device)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(device);
        if ((domain.Mode & DomainAttachMode.Normal) != 0)
            throw new IommuException(Errno.EPERM, $"SMMUv3 rule: {domain} has been attached normally and stays a normal domain (the mode is sticky)");
        IommuDomain parent = device.Group?.Domain
            ?? throw new IommuException(Errno.EINVAL, $"SMMUv3 rule: {device} has no primary domain to hang the aux domain on");
        if (parent.PageTable == null || parent.Stage1 != null)
            Throw.Iommu(Errno.EINVAL, $"SMMUv3 rule: {device}'s primary domain {parent} is not a stage 1 domain with a CD table to hold the aux domain");
        if (domain.AuxParent != null && domain.AuxParent != parent)
            Throw.Iommu(Errno.EPERM, $"SMMUv3 rule: {domain} already has parent {domain.AuxParent}; {device} is attached to {parent}");
        return parent;
    }

    /// <summary>The event queue handler (<c>arm_smmu_evtq_thread</c>): reads every event from CONS to PROD into
    /// <see cref="EventLog"/> and moves CONS (acknowledging an overflow).</summary>
    /// <returns>Events read.</returns>
    public int DrainEvents()
    {
        lock (_eventLog)
        {
            uint both = (2u << QueueLog2) - 1, mask = (1u << QueueLog2) - 1;
            uint prod = (uint)_registers.Read(EventqProd, 4);
            int read = 0;
            while ((_eventCons & both) != (prod & both))
            {
                ulong at = _eventq + (_eventCons & mask) * (ulong)Smmu.EventFields.Size;
                ulong w0 = _memory.ReadUInt64(at);
                Log($"{DeviceName}: event 0x{Smmu.EventFields.Type.Get(w0):x2} received:");
                for (ulong i = 0; i < 4; i++)
                    Log($"{DeviceName}: \t0x{_memory.ReadUInt64(at + i * 8):x16}");
                _eventCons = (_eventCons + 1) & both;
                read++;
            }
            // OVACKFLG follows OVFLG: the overflow is seen.
            _eventCons = (_eventCons & both) | (prod & (uint)EventqIndexFields.Overflow.Mask);
            _registers.Write(EventqCons, 4, _eventCons);
            return read;
        }
    }

    private void Log(string line)
    {
        if (_eventLog.Count == 256)
            _eventLog.Dequeue();
        _eventLog.Enqueue(line);
    }

    private void CheckStream(uint sid)
    {
        if (sid >= 1u << StreamIdBits)
            Throw.Iommu(Errno.EINVAL, $"StreamID {Throw.Hex(sid)} is beyond the SMMU's {StreamIdBits} StreamID bits");
    }

    private void CheckDomainId(ushort id)
    {
        if (id == 0)
            Throw.Iommu(Errno.EINVAL, "ASID/VMID 0 is not given to domains");
        if (id >= 1 << _asidBits)
            Throw.Iommu(Errno.ERANGE, $"ASID {id} is beyond the SMMU's {_asidBits} ASID bits");
    }

    private static void CheckStage1(SecondLevelPageTable table)
    {
        if (table.Format.Stage != PageTableStage.ArmStage1)
            Throw.Iommu(Errno.EINVAL, $"stage 1 needs an ArmStage1 table, not {table.Format.Stage}");
    }

    /// <summary>A new CD table for a stage 1 stream, with CD 0 pointing at its primary domain's table.</summary>
    private CdTable NewCdTable(ushort asid, SecondLevelPageTable table)
    {
        ulong l1 = _spareCdL1.Count > 0 ? _spareCdL1.Pop() : _memory.Frames.AllocateContiguous(Frames(_cdL1Entries * 8L));
        var cds = new CdTable(l1, asid);
        try
        {
            WriteCd(cds, 0, ContextDescriptor.Create(table.RootHpa, asid, table.AddressWidth));
        }
        catch
        {
            _spareCdL1.Push(l1);
            throw;
        }
        return cds;
    }

    /// <summary>Clears CD 0 of a stream's table (its STE aborts already) and keeps the table's frames for the next stream.</summary>
    private void ReleaseCdTable(uint sid, CdTable cds)
    {
        _memory.WriteUInt64(CdAddress(cds, 0, allocate: false), 0);
        foreach ((uint index, ulong leaf) in cds.Leaves)
        {
            ZeroFrames(leaf, Frames((1L << CdLeafBits) * ContextDescriptor.Size));
            _memory.WriteUInt64(cds.L1 + index * 8UL, 0);
            _spareCdLeaves.Push(leaf);
        }
        _spareCdL1.Push(cds.L1);
        _cdTables.Remove(sid);
    }

    private void AddAsidUser(ushort asid) => _asidUsers[asid] = _asidUsers.GetValueOrDefault(asid) + 1;

    /// <summary>One CD less holds the ASID; with the last, CMD_TLBI_NH_ASID (and CMD_SYNC): the ASID's entries can no longer
    /// be reached, and the core may give the ASID to another domain.</summary>
    private void RemoveAsidUser(ushort asid)
    {
        int users = _asidUsers[asid] - 1;
        if (users > 0)
        {
            _asidUsers[asid] = users;
            return;
        }
        _asidUsers.Remove(asid);
        Submit([TlbiNhAsid(asid)]);
    }

    private void ZeroFrames(ulong hpa, int frames)
    {
        for (int i = 0; i < frames; i++)
            _memory.ClearFrame(hpa + (ulong)i * PhysicalMemory.FrameSize);
    }

    /// <summary>A CD update: V clear is not needed for an invalid CD, so the words go with word 0 last, then CMD_CFGI_CD
    /// for the stream that points at the table (none yet for a new table's CD 0) and CMD_SYNC.</summary>
    private void WriteCd(CdTable cds, uint ssid, ContextDescriptor descriptor)
    {
        ulong cd = CdAddress(cds, ssid, allocate: true);
        _memory.WriteUInt64(cd + 8, descriptor.Word1);
        _memory.WriteUInt64(cd, descriptor.Word0); // V last
        if (cds.Sid is uint sid)
            Submit([CfgiCd(sid, ssid)]);
    }

    /// <summary>Clears a CD (V first), then CMD_CFGI_CD and CMD_SYNC for the table's stream.</summary>
    private void ClearCd(CdTable cds, uint ssid)
    {
        ulong cd = CdAddress(cds, ssid, allocate: false);
        _memory.WriteUInt64(cd, 0);
        _memory.WriteUInt64(cd + 8, 0);
        Submit([CfgiCd(cds.Sid!.Value, ssid)]);
    }

    /// <summary>An STE update: invalid first (word 0 with V clear), CMD_CFGI_STE and CMD_SYNC, the other words, word 0
    /// last, then CMD_CFGI_STE and CMD_SYNC again.</summary>
    private void WriteSte(uint streamId, StreamTableEntry entry)
    {
        if (_atsStreams.Contains(streamId))
            entry = entry with { Word1 = StreamTableEntry.EatsField.With(entry.Word1, StreamTableEntry.EatsFull) };
        ulong ste = SteAddress(streamId);
        if (StreamTableEntry.ValidField.IsSet(_memory.ReadUInt64(ste)))
        {
            _memory.WriteUInt64(ste, 0);
            Submit([CfgiSte(streamId)]);
        }
        _memory.WriteUInt64(ste + 8, entry.Word1);
        _memory.WriteUInt64(ste + 16, entry.Word2);
        _memory.WriteUInt64(ste + 24, entry.Word3);
        _memory.WriteUInt64(ste, entry.Word0);
        Submit([CfgiSte(streamId)]);
    }

    private ulong SteAddress(uint streamId)
    {
        CheckStream(streamId);
        uint index = streamId >> Split;
        if (!_l2StreamTables.TryGetValue(index, out ulong l2))
        {
            l2 = _memory.Frames.AllocateContiguous(Frames((1L << Split) * StreamTableEntry.Size));
            _l2StreamTables.Add(index, l2);
            // L1STD: L2Ptr (51:6) and Span = SPLIT + 1; written after the (zeroed) level-2 table.
            _memory.WriteUInt64(_streamTableL1 + index * 8UL, (l2 & StrtabBaseFields.Address.Mask) | (Split + 1));
        }
        return l2 + (streamId & ((1u << Split) - 1)) * (ulong)StreamTableEntry.Size;
    }

    private ulong CdAddress(CdTable cds, uint ssid, bool allocate)
    {
        uint index = ssid >> CdLeafBits;
        if (!cds.Leaves.TryGetValue(index, out ulong leaf))
        {
            if (!allocate)
                throw new InvalidOperationException($"CD {ssid} has no leaf table: a driver bug");
            leaf = _spareCdLeaves.Count > 0 ? _spareCdLeaves.Pop()
                : _memory.Frames.AllocateContiguous(Frames((1L << CdLeafBits) * ContextDescriptor.Size));
            cds.Leaves.Add(index, leaf);
            _memory.WriteUInt64(cds.L1 + index * 8UL, leaf | 1); // L1CD: L2Ptr (51:12) and V
        }
        return leaf + (ssid & ((1u << CdLeafBits) - 1)) * (ulong)ContextDescriptor.Size;
    }

    private static (ulong, ulong) CfgiSte(uint streamId) =>
        (SmmuCommand.Opcode.Encode(SmmuCommand.CfgiSte) | SmmuCommand.StreamId.Encode(streamId), SmmuCommand.Leaf.Encode(1));

    private static (ulong, ulong) CfgiCd(uint streamId, uint ssid) =>
        (SmmuCommand.Opcode.Encode(SmmuCommand.CfgiCd) | SmmuCommand.SubstreamId.Encode(ssid) | SmmuCommand.StreamId.Encode(streamId),
            SmmuCommand.Leaf.Encode(1));

    private static (ulong, ulong) TlbiNhAsid(ushort asid) =>
        (SmmuCommand.Opcode.Encode(SmmuCommand.TlbiNhAsid) | SmmuCommand.Asid.Encode(asid), 0);

    /// <summary>CMD_ATC_INV for <c>[iova, iova + size)</c> of a stream (the whole address space when <paramref name="size"/>
    /// is 0), with SSV and the SSID when given. An ATS invalidation covers a naturally aligned power of two of 4 KiB pages:
    /// the smallest that holds the range, whose Size is the highest bit in which the first and last page numbers differ
    /// (<c>arm_smmu_atc_inv_to_cmd</c>).</summary>
    private static (ulong, ulong) AtcInv(uint streamId, uint? ssid, ulong iova, ulong size)
    {
        int log2Span = SmmuCommand.AtcSizeAll;
        ulong address = 0;
        if (size != 0)
        {
            ulong first = iova >> 12, last = (iova + size - 1) >> 12;
            log2Span = Math.Min(64 - System.Numerics.BitOperations.LeadingZeroCount(first ^ last), SmmuCommand.AtcSizeAll);
            address = (first & ~((1UL << log2Span) - 1)) << 12;
        }
        ulong w0 = SmmuCommand.Opcode.Encode(SmmuCommand.AtcInv) | SmmuCommand.StreamId.Encode(streamId)
            | (ssid is uint s ? SmmuCommand.SubstreamValid.Encode(1) | SmmuCommand.SubstreamId.Encode(s) : 0);
        return (w0, (address & SmmuCommand.Address.Mask) | SmmuCommand.AtcSize.Encode((ulong)log2Span));
    }

    /// <summary>Puts the commands and a CMD_SYNC (CS = SIG_IRQ, its MSI write aimed at the sync word) on the queue, moves
    /// PROD, and waits for the sync's write (<c>arm_smmu_cmdq_issue_cmdlist</c> with a sync): a CMD_SYNC behind ATC
    /// invalidations completes when the functions answer. CERROR_ATC_INV_SYNC is acknowledged and the CMD_SYNC runs again
    /// (<see cref="AtcInvalidationTimeouts"/>); any other stopped queue (CERROR_ILL, CERROR_ABT) is a driver bug.</summary>
    private void Submit(ReadOnlySpan<(ulong W0, ulong W1)> commands)
    {
        int room = (1 << QueueLog2) - 1;
        while (commands.Length >= room)
        {
            Submit(commands[..(room - 1)]);
            commands = commands[(room - 1)..];
        }
        uint both = (2u << QueueLog2) - 1, mask = (1u << QueueLog2) - 1;
        foreach ((ulong w0, ulong w1) in commands)
            Put(w0, w1, mask, both);
        uint token = ++_syncCount;
        Put(SmmuCommand.Opcode.Encode(SmmuCommand.Sync) | SmmuCommand.SyncCompletionSignal.Encode(1) | SmmuCommand.SyncMsiData.Encode(token),
            _syncWord & SmmuCommand.SyncMsiAddress.Mask, mask, both);
        _registers.Write(CmdqProd, 4, _cmdProd);
        WaitForSync(token);
    }

    /// <summary>Polls the sync word, as <c>__arm_smmu_cmdq_poll_until_msi</c> does, handling CERROR_ATC_INV_SYNC as
    /// <c>arm_smmu_gerror_handler</c> and <c>arm_smmu_cmdq_skip_err</c> do: GERRORN follows GERROR, and CONS, still at the
    /// CMD_SYNC, runs it again.</summary>
    private void WaitForSync(uint token)
    {
        var spinner = new SpinWait();
        long deadline = Environment.TickCount64 + (long)TimeSpan.FromMinutes(5).TotalMilliseconds;
        while ((uint)_memory.ReadUInt64(_syncWord) != token)
        {
            uint error = (uint)CmdqConsFields.Error.Get(_registers.Read(CmdqCons, 4));
            if (error == CmdqConsFields.AtcInvalidationSync)
            {
                Interlocked.Increment(ref _atcTimeouts);
                _registers.Write(Gerrorn, 4, _registers.Read(Gerror, 4));
                continue;
            }
            if (error != 0 || Environment.TickCount64 > deadline)
                throw new InvalidOperationException($"CMD_SYNC did not complete (CMDQ_CONS.ERR {error}): a driver bug");
            spinner.SpinOnce(sleep1Threshold: 64);
        }
    }

    private void Put(ulong w0, ulong w1, uint mask, uint both)
    {
        ulong at = _cmdq + (_cmdProd & mask) * (ulong)SmmuCommand.Size;
        _memory.WriteUInt64(at, w0);
        _memory.WriteUInt64(at + 8, w1);
        _cmdProd = (_cmdProd + 1) & both;
    }
}
