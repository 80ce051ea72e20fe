using Siov.Fast.Hardware;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;
using static Siov.Fast.Hardware.SmmuV3.SmmuRegisters;

namespace Siov.Fast.Drivers.ArmSmmuV3;

/// <summary>
/// The arm-smmu-v3 driver's role for one SMMUv3 (<c>struct arm_smmu_device</c>): it sees only the SMMU's registers
/// (<see cref="IMmioRegion"/>) and simulated memory. It brings the SMMU up as Linux does (a 2-level stream table with
/// SPLIT 8, the command and event queues, GBPA abort, CR0 with the queues then SMMUEN), writes STEs and 2-level CD
/// tables, and after each change issues the commands the architecture asks for: an STE or CD is made invalid, CMD_CFGI_*
/// and CMD_SYNC, its words written with word 0 last, then CMD_CFGI_* and CMD_SYNC again; unmaps are followed by
/// CMD_TLBI_NH_VA (or CMD_TLBI_NH_ASID past 512 pages) and CMD_SYNC.
/// </summary>
/// <remarks>Calls serialize on one lock. The core's object model does not use this driver yet (it keys units by VT-d
/// unit); it is driven directly (see the SMMUv3 section of docs/hardware.md).</remarks>
public sealed class ArmSmmuV3Driver
{
    private const int Split = 8;                   // StreamID bits a level-2 stream table resolves (256 STEs, 16 KiB)
    private const int QueueLog2 = 8;               // 256 commands, 256 events
    private const int CdLeafBits = 8;              // 256 CDs (16 KiB) per level-2 CD table: S1Fmt = 1
    private const int MaxPagesPerRange = 512;      // past this many pages, one CMD_TLBI_NH_ASID

    private readonly Lock _lock = new();
    private readonly IMmioRegion _registers;
    private readonly PhysicalMemory _memory;
    private readonly ulong _streamTableL1, _cmdq, _eventq, _syncWord;
    private readonly Dictionary<uint, ulong> _l2StreamTables = [];             // StreamID >> SPLIT -> level-2 table
    private readonly Dictionary<uint, ulong> _cdTables = [];                   // StreamID -> level-1 CD table
    private readonly Dictionary<(uint Sid, uint Index), ulong> _cdLeaves = []; // (StreamID, SSID >> 8) -> level-2 CD table
    private readonly Queue<string> _eventLog = new();
    private readonly int _cdL1Entries;
    private uint _cmdProd, _eventCons, _syncCount;

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
        Name = name;
        uint idr0 = (uint)registers.Read(Idr0, 4), idr1 = (uint)registers.Read(Idr1, 4);
        if (Idr0Fields.StreamTableLevels.Get(idr0) != 1 || !Idr0Fields.Stage1.IsSet(idr0) || !Idr0Fields.TwoLevelCdTables.IsSet(idr0))
            Throw.Iommu(Errno.EOPNOTSUPP, "the SMMU lacks 2-level stream tables, stage 1 or 2-level CD tables, which this driver uses");
        StreamIdBits = (int)Idr1Fields.StreamIdSize.Get(idr1);
        SubstreamIdBits = (int)Idr1Fields.SubstreamIdSize.Get(idr1);
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
        uint queues = (uint)(Cr0Fields.EventQueueEnable.Mask | Cr0Fields.CommandQueueEnable.Mask);
        SetCr0(queues);
        Submit([(SmmuCommand.Opcode.Encode(SmmuCommand.CfgiSteRange), SmmuCommand.Range.Encode(31)),
            (SmmuCommand.Opcode.Encode(SmmuCommand.TlbiNsnhAll), 0)]);
        SetCr0(queues | (uint)Cr0Fields.SmmuEnable.Mask);
        if (registers is Smmu smmu)
            smmu.EventRecorded += (_, _) => DrainEvents();
    }

    /// <summary>The device name in log lines.</summary>
    public string Name { get; }

    /// <summary>StreamID bits (SMMU_IDR1.SIDSIZE).</summary>
    public int StreamIdBits { get; }

    /// <summary>SubstreamID bits (SMMU_IDR1.SSIDSIZE): the PASID width the driver offers.</summary>
    public int SubstreamIdBits { get; }

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

    private static int Frames(long bytes) => (int)Math.Max(1, (bytes + 4095) / 4096);

    private void SetCr0(uint value)
    {
        _registers.Write(Cr0, 4, value);
        if ((uint)_registers.Read(Cr0Ack, 4) != value)
            throw new InvalidOperationException($"CR0ACK did not follow CR0 {Throw.Hex(value)}: a driver bug");
    }

    /// <summary>
    /// Points the transactions without SubstreamID of <paramref name="streamId"/> at a stage 1 table (Linux's
    /// <c>arm_smmu_attach_dev</c> with an S1 domain): CD 0 of the stream's CD table (created when absent) gets the table and
    /// ASID, and the STE says stage 1, S1DSS = SSID0, S1CDMax = SSIDSIZE.
    /// </summary>
    /// <param name="streamId">The StreamID.</param>
    /// <param name="asid">The domain's ASID.</param>
    /// <param name="table">An <see cref="PageTableStage.ArmStage1"/> table of 3 or 4 levels.</param>
    /// <exception cref="IommuException">EINVAL for a table of another format or a StreamID beyond SIDSIZE; ENOMEM.</exception>
    public void AttachStage1(uint streamId, ushort asid, SecondLevelPageTable table) => SetPasid(streamId, 0, asid, table);

    /// <summary>Points SubstreamID <paramref name="ssid"/> of <paramref name="streamId"/> at a stage 1 table (an aux domain
    /// or a PASID attachment: a CD at that SSID), making the stream's STE stage 1 with its CD table first when needed.</summary>
    /// <param name="streamId">The StreamID.</param>
    /// <param name="ssid">The SubstreamID (PASID).</param>
    /// <param name="asid">The domain's ASID.</param>
    /// <param name="table">An <see cref="PageTableStage.ArmStage1"/> table.</param>
    /// <exception cref="IommuException">EINVAL for another format, a StreamID beyond SIDSIZE or an SSID beyond SSIDSIZE;
    /// EBUSY when the CD is valid already; ENOMEM.</exception>
    public void SetPasid(uint streamId, uint ssid, ushort asid, SecondLevelPageTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (table.Format.Stage != PageTableStage.ArmStage1)
            Throw.Iommu(Errno.EINVAL, $"stage 1 needs an ArmStage1 table, not {table.Format.Stage}");
        if (ssid >= 1u << SubstreamIdBits)
            Throw.Iommu(Errno.EINVAL, $"SSID {ssid} is beyond the SMMU's {SubstreamIdBits} SubstreamID bits");
        lock (_lock)
        {
            ulong cd = CdAddress(streamId, ssid, allocate: true);
            if (ContextDescriptor.ValidField.IsSet(_memory.ReadUInt64(cd)))
                Throw.Iommu(Errno.EBUSY, $"SSID {ssid} of StreamID {Throw.Hex(streamId)} has a CD already (clear it first)");
            var descriptor = ContextDescriptor.Create(table.RootHpa, asid, table.AddressWidth);
            _memory.WriteUInt64(cd + 8, descriptor.Word1);
            _memory.WriteUInt64(cd, descriptor.Word0); // V last
            Submit([CfgiCd(streamId, ssid)]);
            ulong ste = SteAddress(streamId, allocate: true);
            if (new StreamTableEntry(_memory.ReadUInt64(ste), 0, 0, 0).Config != StreamTableEntry.ConfigStage1)
                WriteSte(streamId, StreamTableEntry.Create(StreamTableEntry.ConfigStage1, _cdTables[streamId], SubstreamIdBits,
                    s1Format: 1, defaultSubstream: 2));
        }
    }

    /// <summary>Clears the CD of <paramref name="ssid"/> (V first, then CMD_CFGI_CD and CMD_SYNC) and invalidates its ASID's
    /// TLB entries (Linux's <c>arm_smmu_clear_cd</c> and the TLB flush of a detach).</summary>
    /// <param name="streamId">The StreamID.</param>
    /// <param name="ssid">The SubstreamID.</param>
    /// <exception cref="IommuException">ENOENT when it has no valid CD.</exception>
    public void ClearPasid(uint streamId, uint ssid)
    {
        lock (_lock)
        {
            ulong cd = _cdTables.ContainsKey(streamId) ? CdAddress(streamId, ssid, allocate: false) : 0;
            ulong word0 = cd == 0 ? 0 : _memory.ReadUInt64(cd);
            if (!ContextDescriptor.ValidField.IsSet(word0))
                Throw.Iommu(Errno.ENOENT, $"SSID {ssid} of StreamID {Throw.Hex(streamId)} has no CD");
            _memory.WriteUInt64(cd, 0);
            _memory.WriteUInt64(cd + 8, 0);
            ushort asid = (ushort)ContextDescriptor.AsidField.Get(word0);
            Submit([CfgiCd(streamId, ssid), TlbiNhAsid(asid)]);
        }
    }

    /// <summary>Points a stream at a stage 2 table (a VFIO domain with stage 2 only).</summary>
    /// <param name="streamId">The StreamID.</param>
    /// <param name="vmid">The domain's VMID.</param>
    /// <param name="table">An <see cref="PageTableStage.ArmStage2"/> table.</param>
    /// <exception cref="IommuException">EINVAL for another format or a StreamID beyond SIDSIZE; ENOMEM.</exception>
    public void AttachStage2(uint streamId, ushort vmid, SecondLevelPageTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (table.Format.Stage != PageTableStage.ArmStage2)
            Throw.Iommu(Errno.EINVAL, $"stage 2 needs an ArmStage2 table, not {table.Format.Stage}");
        lock (_lock)
        {
            SteAddress(streamId, allocate: true);
            WriteSte(streamId, StreamTableEntry.Create(StreamTableEntry.ConfigStage2, vmid: vmid, s2Ttb: table.RootHpa,
                s2InputBits: table.AddressWidth, s2StartLevel: 4 - table.Levels));
        }
    }

    /// <summary>Makes the stream abort (an STE with Config abort: a blocked domain) and drops its CDs' TLB entries.</summary>
    /// <param name="streamId">The StreamID.</param>
    /// <exception cref="IommuException">ENOENT when the stream has no STE written.</exception>
    public void Detach(uint streamId)
    {
        lock (_lock)
        {
            if (!_l2StreamTables.ContainsKey(streamId >> Split))
                Throw.Iommu(Errno.ENOENT, $"StreamID {Throw.Hex(streamId)} has no STE");
            WriteSte(streamId, StreamTableEntry.Create(StreamTableEntry.ConfigAbort));
            Submit([(SmmuCommand.Opcode.Encode(SmmuCommand.TlbiNsnhAll), 0)]);
        }
    }

    /// <summary>Invalidates <c>[iova, iova + size)</c> of an ASID after an unmap (<c>arm_smmu_tlb_inv_range_asid</c>):
    /// CMD_TLBI_NH_VA per 4 KiB page, or one CMD_TLBI_NH_ASID past 512 pages, then CMD_SYNC.</summary>
    /// <param name="asid">The ASID.</param>
    /// <param name="iova">First IOVA.</param>
    /// <param name="size">Bytes, at least 1.</param>
    /// <exception cref="IommuException">EINVAL for a zero size or a range that wraps.</exception>
    public void FlushRange(ushort asid, ulong iova, ulong size)
    {
        if (size == 0 || iova + size - 1 < iova)
            Throw.Iommu(Errno.EINVAL, $"TLB range [{Throw.Hex(iova)}, +{Throw.Hex(size)}) is empty or wraps");
        ulong first = iova >> 12, last = (iova + size - 1) >> 12;
        lock (_lock)
        {
            if (last - first + 1 > MaxPagesPerRange)
            {
                Submit([TlbiNhAsid(asid)]);
                return;
            }
            var commands = new List<(ulong, ulong)>();
            for (ulong page = first; page <= last; page++)
                commands.Add((SmmuCommand.Opcode.Encode(SmmuCommand.TlbiNhVa) | SmmuCommand.Asid.Encode(asid), (page << 12) | SmmuCommand.Leaf.Encode(1)));
            Submit([.. commands]);
        }
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
                Log($"{Name}: event 0x{Smmu.EventFields.Type.Get(w0):x2} received:");
                for (ulong i = 0; i < 4; i++)
                    Log($"{Name}: \t0x{_memory.ReadUInt64(at + i * 8):x16}");
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

    /// <summary>An STE update: invalid first (word 0 with V clear), CMD_CFGI_STE and CMD_SYNC, the other words, word 0
    /// last, then CMD_CFGI_STE and CMD_SYNC again.</summary>
    private void WriteSte(uint streamId, StreamTableEntry entry)
    {
        ulong ste = SteAddress(streamId, allocate: true);
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

    private ulong SteAddress(uint streamId, bool allocate)
    {
        if (streamId >= 1u << StreamIdBits)
            Throw.Iommu(Errno.EINVAL, $"StreamID {Throw.Hex(streamId)} is beyond the SMMU's {StreamIdBits} StreamID bits");
        uint index = streamId >> Split;
        if (!_l2StreamTables.TryGetValue(index, out ulong l2))
        {
            if (!allocate)
                return 0;
            l2 = _memory.Frames.AllocateContiguous(Frames((1L << Split) * StreamTableEntry.Size));
            _l2StreamTables.Add(index, l2);
            // L1STD: L2Ptr (51:6) and Span = SPLIT + 1; written after the (zeroed) level-2 table.
            _memory.WriteUInt64(_streamTableL1 + index * 8UL, (l2 & StrtabBaseFields.Address.Mask) | (Split + 1));
        }
        return l2 + (streamId & ((1u << Split) - 1)) * (ulong)StreamTableEntry.Size;
    }

    private ulong CdAddress(uint streamId, uint ssid, bool allocate)
    {
        if (!_cdTables.TryGetValue(streamId, out ulong l1))
        {
            if (!allocate)
                return 0;
            l1 = _memory.Frames.AllocateContiguous(Frames(_cdL1Entries * 8L));
            _cdTables.Add(streamId, l1);
        }
        uint index = ssid >> CdLeafBits;
        if (!_cdLeaves.TryGetValue((streamId, index), out ulong leaf))
        {
            if (!allocate)
                return 0;
            leaf = _memory.Frames.AllocateContiguous(Frames((1L << CdLeafBits) * ContextDescriptor.Size));
            _cdLeaves.Add((streamId, index), leaf);
            _memory.WriteUInt64(l1 + index * 8UL, leaf | 1); // L1CD: L2Ptr (51:12) and V
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

    /// <summary>Puts the commands and a CMD_SYNC (CS = SIG_IRQ, its MSI write aimed at the sync word) on the queue, moves
    /// PROD, and checks the sync's write landed (<c>arm_smmu_cmdq_issue_cmdlist</c> with a sync). A stopped queue
    /// (CERROR_*) is a driver bug.</summary>
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
        if ((uint)_memory.ReadUInt64(_syncWord) != token)
        {
            uint cons = (uint)_registers.Read(CmdqCons, 4);
            throw new InvalidOperationException(
                $"CMD_SYNC did not complete (CMDQ_CONS.ERR {CmdqConsFields.Error.Get(cons)}): a driver bug");
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
