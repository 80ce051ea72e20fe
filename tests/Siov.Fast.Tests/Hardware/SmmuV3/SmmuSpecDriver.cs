using Siov.Fast.Hardware;
using Siov.Fast.Memory;

namespace Siov.Fast.Tests.Hardware.SmmuV3;

/// <summary>
/// An SMMUv3 driver written from the architecture (Arm IHI 0070) alone, independent of the engine's drivers and of its
/// field definitions: register offsets, STE/CD/command layouts and queue index rules are written out here as numbers.
/// It boots the SMMU through memory and registers (stream table, queues, GBPA, CR0), writes STEs and CDs, submits
/// commands and reads events.
/// </summary>
internal sealed class SmmuSpecDriver
{
    public const ulong Cr0 = 0x20, Cr0Ack = 0x24, Gbpa = 0x44, Gerror = 0x60, Gerrorn = 0x64;
    public const ulong StrtabBase = 0x80, StrtabBaseCfg = 0x88, CmdqBase = 0x90, CmdqProd = 0x98, CmdqCons = 0x9C;
    public const ulong EventqBase = 0xA0, EventqProd = 0x100A8, EventqCons = 0x100AC;
    public const uint SmmuEn = 1, EvtqEn = 1 << 2, CmdqEn = 1 << 3, AtsChk = 1 << 4;
    private const int QueueLog2 = 6; // 64 entries

    private readonly IMmioRegion _mmio;
    private readonly PhysicalMemory _memory;
    private ulong _streamTable, _cmdq, _eventq;
    private uint _cmdProd, _eventCons;

    public SmmuSpecDriver(IMmioRegion mmio, PhysicalMemory memory)
    {
        _mmio = mmio;
        _memory = memory;
    }

    public ulong StreamTable => _streamTable;

    public uint Read32(ulong offset) => (uint)_mmio.Read(offset, 4);

    public void Write32(ulong offset, uint value) => _mmio.Write(offset, 4, value);

    /// <summary>Boot: a linear stream table of 2^8 STEs (all zero: invalid), a 64-entry command queue and event queue,
    /// GBPA abort, then CR0 = EVTQEN | CMDQEN, waiting for CR0ACK, then SMMUEN.</summary>
    public void Boot(bool enable = true)
    {
        _streamTable = _memory.Frames.AllocateContiguous(4);       // 256 × 64 bytes
        _cmdq = _memory.Frames.Allocate();                          // 64 × 16 bytes
        _eventq = _memory.Frames.Allocate();                        // 64 × 32 bytes = 2 KiB
        _mmio.Write(StrtabBase, 8, _streamTable);                   // ADDR 51:6
        Write32(StrtabBaseCfg, 8);                                  // FMT 0 (linear), LOG2SIZE 8
        _mmio.Write(CmdqBase, 8, _cmdq | QueueLog2);                // ADDR 51:5, LOG2SIZE 4:0
        _mmio.Write(EventqBase, 8, _eventq | QueueLog2);
        Write32(CmdqProd, 0);
        Write32(EventqCons, 0);
        Write32(Gbpa, (1u << 31) | (1u << 20));                     // UPDATE | ABORT
        Poll(() => (Read32(Gbpa) & (1u << 31)) == 0);
        SetCr0(EvtqEn | CmdqEn);
        if (enable)
            SetCr0(EvtqEn | CmdqEn | SmmuEn);
    }

    public void SetCr0(uint value)
    {
        Write32(Cr0, value);
        Poll(() => Read32(Cr0Ack) == value);
    }

    private static void Poll(Func<bool> done)
    {
        for (int i = 0; i < 1000; i++)
        {
            if (done())
                return;
            Thread.Yield();
        }
        throw new TimeoutException("SMMU register did not follow");
    }

    // ---- stream table and context descriptors (IHI 0070 5.2, 5.4) ---------------------------------------------

    /// <summary>STE word 0: V bit 0, Config 3:1, S1Fmt 5:4, S1ContextPtr 51:6, S1CDMax 63:59; word 1: S1DSS 1:0, EATS 29:28
    /// (0b01 full ATS); word 2: S2VMID 15:0, S2T0SZ 37:32, S2SL0 39:38, S2TG 47:46, S2PS 50:48, S2AA64 51, S2AFFD 53;
    /// word 3: S2TTB 51:4.</summary>
    public void WriteSte(uint sid, uint config, ulong cdTable = 0, int cdMax = 0, int s1dss = 0, ushort vmid = 0, ulong s2ttb = 0,
        int s2InputBits = 40, int s2sl0 = 1, bool s2affd = false, bool valid = true, int eats = 0)
    {
        ulong at = _streamTable + sid * 64UL;
        ulong w2 = vmid | (ulong)(uint)(64 - s2InputBits) << 32 | (ulong)s2sl0 << 38 | 5UL << 48 | 1UL << 51 | (s2affd ? 1UL << 53 : 0);
        _memory.WriteUInt64(at + 8, (uint)s1dss | (ulong)(uint)eats << 28);
        _memory.WriteUInt64(at + 16, config is 6 or 7 ? w2 : vmid);
        _memory.WriteUInt64(at + 24, s2ttb & 0x000F_FFFF_FFFF_FFF0UL);
        _memory.WriteUInt64(at, (valid ? 1UL : 0) | (ulong)config << 1 | (cdTable & 0x000F_FFFF_FFFF_FFC0UL) | (ulong)cdMax << 59);
    }

    /// <summary>CD word 0: T0SZ 5:0, TG0 7:6 (0: 4 KiB), EPD0 14, V 31, IPS 34:32, AFFD 35, AA64 41, R 45, A 46, ASID 63:48;
    /// word 1: TTB0 51:4.</summary>
    public static void WriteCd(PhysicalMemory memory, ulong at, ulong ttb0, ushort asid, int inputBits = 48, bool affd = false,
        bool valid = true, bool aa64 = true)
    {
        memory.WriteUInt64(at + 8, ttb0 & 0x000F_FFFF_FFFF_FFF0UL);
        memory.WriteUInt64(at, (ulong)(uint)(64 - inputBits) | (valid ? 1UL << 31 : 0) | 5UL << 32 | (affd ? 1UL << 35 : 0)
            | (aa64 ? 1UL << 41 : 0) | 1UL << 45 | 1UL << 46 | (ulong)asid << 48);
    }

    // ---- commands (IHI 0070 chapter 4) ------------------------------------------------------------------------

    public static (ulong, ulong) CfgiSte(uint sid) => (0x03 | (ulong)sid << 32, 1);

    public static (ulong, ulong) CfgiCd(uint sid, uint ssid) => (0x05 | (ulong)ssid << 12 | (ulong)sid << 32, 1);

    public static (ulong, ulong) CfgiAll() => (0x04, 31);

    public static (ulong, ulong) TlbiNhAsid(ushort asid, ushort vmid = 0) => (0x11 | (ulong)vmid << 32 | (ulong)asid << 48, 0);

    public static (ulong, ulong) TlbiNhVa(ushort asid, ulong va, ushort vmid = 0) => (0x12 | (ulong)vmid << 32 | (ulong)asid << 48, (va & ~0xFFFUL) | 1);

    public static (ulong, ulong) TlbiS12Vmall(ushort vmid) => (0x28 | (ulong)vmid << 32, 0);

    /// <summary>CMD_ATC_INV (opcode 0x40): word 0 Global bit 9, SSV bit 11, SSID 31:12, SID 63:32; word 1 Size 5:0 (2^Size
    /// pages of 4 KiB; 52 = everything), Address 63:12.</summary>
    public static (ulong, ulong) AtcInv(uint sid, ulong address, int size, uint? ssid = null, bool global = false) =>
        (0x40 | (global ? 1UL << 9 : 0) | (ssid is uint s ? 1UL << 11 | (ulong)s << 12 : 0) | (ulong)sid << 32,
            (address & ~0xFFFUL) | (uint)size);

    /// <summary>CMD_SYNC with CS = SIG_IRQ (bits 13:12 = 01), MSIData 63:32 and MSIAddr 51:2 in word 1.</summary>
    public static (ulong, ulong) Sync(ulong msiAddress, uint msiData) => (0x46 | 1UL << 12 | (ulong)msiData << 32, msiAddress & 0x000F_FFFF_FFFF_FFFCUL);

    /// <summary>Puts commands at PROD and moves it (index 5:0, wrap bit 6).</summary>
    public void Submit(params (ulong W0, ulong W1)[] commands)
    {
        foreach ((ulong w0, ulong w1) in commands)
        {
            ulong at = _cmdq + (_cmdProd & 63) * 16UL;
            _memory.WriteUInt64(at, w0);
            _memory.WriteUInt64(at + 8, w1);
            _cmdProd = (_cmdProd + 1) & 127;
        }
        Write32(CmdqProd, _cmdProd);
    }

    /// <summary>Commands, then a CMD_SYNC whose MSI write lands in a status word; true when it did.</summary>
    public bool SubmitAndSync(params (ulong W0, ulong W1)[] commands)
    {
        ulong status = SubmitWithSync(commands);
        return SyncDone(status);
    }

    /// <summary>Commands, then a CMD_SYNC whose MSI write will land in the status word returned (not waited for).</summary>
    public ulong SubmitWithSync(params (ulong W0, ulong W1)[] commands)
    {
        ulong status = _memory.Frames.Allocate();
        Submit([.. commands, Sync(status, 0xC0FFEE)]);
        return status;
    }

    /// <summary>Whether the CMD_SYNC of <see cref="SubmitWithSync"/> has written its status word.</summary>
    public bool SyncDone(ulong status) => (uint)_memory.ReadUInt64(status) == 0xC0FFEE;

    /// <summary>CMDQ_CONS.ERR, bits 30:24.</summary>
    public uint CommandError => (Read32(CmdqCons) >> 24) & 0x7F;

    /// <summary>CMDQ_CONS's index and wrap bit (6:0 for 64 entries).</summary>
    public uint CommandConsumer => Read32(CmdqCons) & 127;

    /// <summary>GERROR.CMDQ_ERR is active: it differs from GERRORN.CMDQ_ERR (bit 0).</summary>
    public bool CommandQueueErrorActive => ((Read32(Gerror) ^ Read32(Gerrorn)) & 1) != 0;

    /// <summary>Acknowledges every active global error: GERRORN = GERROR.</summary>
    public void AcknowledgeGlobalErrors() => Write32(Gerrorn, Read32(Gerror));

    // ---- translation tables (Arm ARM VMSAv8-64, 4 KiB granule) -----------------------------------------------

    /// <summary>Writes a leaf descriptor at <paramref name="leafLevel"/> for <paramref name="va"/>, making the tables on the
    /// way (a table descriptor is 0b11 and the next table's address 47:12; 9 index bits per level from bit 39 down).</summary>
    public void Map(ulong root, int startLevel, ulong va, int leafLevel, ulong leaf)
    {
        ulong table = root;
        for (int level = startLevel; level < leafLevel; level++)
        {
            ulong slot = table + ((va >> (12 + 9 * (3 - level))) & 511) * 8;
            ulong entry = _memory.ReadUInt64(slot);
            if ((entry & 1) == 0)
            {
                entry = _memory.Frames.Allocate() | 0b11;
                _memory.WriteUInt64(slot, entry);
            }
            table = entry & 0xFFFF_FFFF_F000;
        }
        _memory.WriteUInt64(table + ((va >> (12 + 9 * (3 - leafLevel))) & 511) * 8, leaf);
    }

    /// <summary>The address of the level-<paramref name="level"/> descriptor of <paramref name="va"/> (the tables exist).</summary>
    public ulong DescriptorAddress(ulong root, int startLevel, ulong va, int level)
    {
        ulong table = root;
        for (int l = startLevel; l < level; l++)
            table = _memory.ReadUInt64(table + ((va >> (12 + 9 * (3 - l))) & 511) * 8) & 0xFFFF_FFFF_F000;
        return table + ((va >> (12 + 9 * (3 - level))) & 511) * 8;
    }

    // ---- events (IHI 0070 7.3) --------------------------------------------------------------------------------

    /// <summary>The events between CONS and PROD (32 bytes each), consumed: CONS moves to PROD.</summary>
    public List<(int Type, uint Sid, uint? Ssid, ulong W1, ulong W2, ulong W3)> DrainEvents()
    {
        var events = new List<(int, uint, uint?, ulong, ulong, ulong)>();
        uint prod = Read32(EventqProd) & 127;
        while ((_eventCons & 127) != prod)
        {
            ulong at = _eventq + (_eventCons & 63) * 32UL;
            ulong w0 = _memory.ReadUInt64(at);
            events.Add(((int)(w0 & 0xFF), (uint)(w0 >> 32), (w0 & (1UL << 11)) != 0 ? (uint)((w0 >> 12) & 0xFFFFF) : null,
                _memory.ReadUInt64(at + 8), _memory.ReadUInt64(at + 16), _memory.ReadUInt64(at + 24)));
            _eventCons = (_eventCons + 1) & 127;
        }
        Write32(EventqCons, _eventCons);
        return events;
    }
}
