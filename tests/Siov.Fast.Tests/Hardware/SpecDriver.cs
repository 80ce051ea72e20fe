using System.Diagnostics;
using Siov.Fast.Hardware;
using Siov.Fast.Memory;

namespace Siov.Fast.Tests.Hardware;

// An independent VT-d driver, written from the Intel VT-d specification (register chapter,
// translation-structure formats, invalidation and fault-logging chapters), not from the model.
// It is the oracle for the register interface of the remapping unit: it drives the unit only
// through MMIO (IMmioRegion) and the tables it builds in simulated physical memory, the way the
// Linux intel-iommu driver boots a unit.

/// <summary>Register offsets and fields of a remapping unit (VT-d spec, "Register Descriptions").</summary>
internal static class VtdRegs
{
    public const ulong Ver = 0x00;        // 32-bit
    public const ulong Cap = 0x08;        // 64-bit
    public const ulong Ecap = 0x10;       // 64-bit
    public const ulong Gcmd = 0x18;       // 32-bit
    public const ulong Gsts = 0x1C;       // 32-bit
    public const ulong Rtaddr = 0x20;     // 64-bit
    public const ulong Ccmd = 0x28;       // 64-bit
    public const ulong Fsts = 0x34;       // 32-bit
    public const ulong Fectl = 0x38;      // 32-bit
    public const ulong Fedata = 0x3C;     // 32-bit
    public const ulong Feaddr = 0x40;     // 32-bit
    public const ulong Feuaddr = 0x44;    // 32-bit
    public const ulong Iqh = 0x80;        // 64-bit
    public const ulong Iqt = 0x88;        // 64-bit
    public const ulong Iqa = 0x90;        // 64-bit
    public const ulong Ics = 0x9C;        // 32-bit
    public const ulong Iectl = 0xA0;      // 32-bit
    public const ulong Iqercd = 0xB0;     // 64-bit

    // GCMD_REG commands and the matching GSTS_REG status bits share positions.
    public const uint Te = 1u << 31;      // translation enable / TES
    public const uint Srtp = 1u << 30;    // set root table pointer / RTPS (one-shot)
    public const uint Sfl = 1u << 29;     // set fault log (one-shot, deprecated)
    public const uint Eafl = 1u << 28;    // advanced fault logging (deprecated)
    public const uint Wbf = 1u << 27;     // write buffer flush (one-shot)
    public const uint Qie = 1u << 26;     // queued invalidation enable / QIES
    public const uint Ire = 1u << 25;     // interrupt remapping enable
    public const uint Sirtp = 1u << 24;   // set interrupt remap table pointer (one-shot)
    public const uint Cfi = 1u << 23;     // compatibility format interrupt

    /// <summary>The one-shot commands: software clears them from the GSTS value it writes back
    /// to GCMD so that only the intended command executes (Linux: status &amp; 0x96FFFFFF).</summary>
    public const uint OneShotCommands = Srtp | Sfl | Wbf | Sirtp;

    // RTADDR_REG.TTM (bits 11:10).
    public const int TtmLegacy = 0;
    public const int TtmScalable = 1;

    // FSTS_REG.
    public const uint Pfo = 1u << 0;      // primary fault overflow (RW1C)
    public const uint Ppf = 1u << 1;      // primary pending fault (RO, OR of all F bits)
    public const uint Iqe = 1u << 4;      // invalidation queue error (RW1C)
    public const uint Ice = 1u << 5;      // invalidation completion error (RW1C)
    public const uint Ite = 1u << 6;      // invalidation time-out error (RW1C)
    public const int FriShift = 8;        // fault record index, bits 15:8

    // FECTL_REG / IECTL_REG.
    public const uint InterruptMask = 1u << 31;     // IM, 1 at reset
    public const uint InterruptPending = 1u << 30;  // IP

    // ICS_REG.
    public const uint Iwc = 1u << 0;

    // CCMD_REG.
    public const ulong Icc = 1UL << 63;
    public const int CirgShift = 61;      // 01 global, 10 domain, 11 device
    public const int CaigShift = 59;      // actual granularity, 2 bits
    public const int CcmdFmShift = 32;
    public const int CcmdSidShift = 16;

    // IOTLB_REG (at ECAP.IRO*16 + 8) and IVA_REG (at ECAP.IRO*16).
    public const ulong Ivt = 1UL << 63;
    public const int IirgShift = 60;      // 01 global, 10 domain, 11 page
    public const int IaigShift = 57;      // actual granularity, 2 bits
    public const ulong IotlbDr = 1UL << 49;
    public const ulong IotlbDw = 1UL << 48;
    public const int IotlbDidShift = 32;
    public const ulong IvaIh = 1UL << 6;

    // IQA_REG.
    public const ulong IqaDw256 = 1UL << 11;

    // Invalidation granularities.
    public const int GranGlobal = 1;
    public const int GranDomain = 2;
    public const int GranDeviceOrPage = 3;
}

/// <summary>Address-translation fault reasons (VT-d spec, "Fault Reasons"), the byte in FRCD.FR.</summary>
internal static class VtdFault
{
    // Legacy mode.
    public const int RootNotPresent = 0x01;
    public const int ContextNotPresent = 0x02;
    public const int ContextInvalid = 0x03;       // e.g. AW not in SAGAW, TT reserved
    public const int AddressBeyondAgaw = 0x04;
    public const int NoWrite = 0x05;              // write to a page without W (or not present)
    public const int NoRead = 0x06;               // read of a page without R (or not present)
    public const int SlEntryAccess = 0x07;
    public const int RootReserved = 0x0A;
    public const int ContextReserved = 0x0B;
    public const int SlEntryReserved = 0x0C;

    // Scalable mode.
    public const int SmRootNotPresent = 0x39;      // LP/UP of the root entry clear
    public const int SmContextNotPresent = 0x41;
    public const int SmPasidDisabled = 0x45;       // request with PASID, PASIDE clear
    public const int SmPasidTooLarge = 0x46;       // PASID beyond the PDTS-sized directory
    public const int SmPasidDirNotPresent = 0x51;
    public const int SmPasidEntryNotPresent = 0x59;
    public const int SmSlNotPresent = 0x79;        // second-level entry with R = W = 0
    public const int SmSlReserved = 0x7A;
    public const int SmNoWrite = 0x85;
    public const int SmNoRead = 0x86;
}

/// <summary>The fields of CAP_REG and ECAP_REG the driver uses, decoded per the spec.</summary>
internal readonly record struct VtdCapability(ulong Cap, ulong Ecap)
{
    private static ulong Bits(ulong v, int hi, int lo) => (v >> lo) & ((1UL << (hi - lo + 1)) - 1);

    public int Nd => (int)Bits(Cap, 2, 0);
    public bool Rwbf => Bits(Cap, 4, 4) != 0;
    public bool CachingMode => Bits(Cap, 7, 7) != 0;
    public int Sagaw => (int)Bits(Cap, 12, 8);
    public int Mgaw => (int)Bits(Cap, 21, 16) + 1;
    public ulong FaultRecordOffset => Bits(Cap, 33, 24) * 16;
    public int Sllps => (int)Bits(Cap, 37, 34);
    public bool Psi => Bits(Cap, 39, 39) != 0;
    public int FaultRecordCount => (int)Bits(Cap, 47, 40) + 1;
    public int Mamv => (int)Bits(Cap, 53, 48);
    public bool WriteDrain => Bits(Cap, 54, 54) != 0;
    public bool ReadDrain => Bits(Cap, 55, 55) != 0;

    public bool Coherent => Bits(Ecap, 0, 0) != 0;
    public bool QueuedInvalidation => Bits(Ecap, 1, 1) != 0;
    public ulong IotlbRegisterOffset => Bits(Ecap, 17, 8) * 16;
    public int PasidBits => (int)Bits(Ecap, 39, 35) + 1;
    public bool Pasid => Bits(Ecap, 40, 40) != 0;
    public bool ScalableMode => Bits(Ecap, 43, 43) != 0;
    public bool SecondLevel => Bits(Ecap, 46, 46) != 0;
    public bool RidPasid => Bits(Ecap, 49, 49) != 0;

    /// <summary>Paging levels for second-level tables: 4 when SAGAW has 48-bit, else 3 (39-bit), else 5.</summary>
    public int PreferredLevels =>
        (Sagaw & 0b0100) != 0 ? 4 : (Sagaw & 0b0010) != 0 ? 3 : (Sagaw & 0b1000) != 0 ? 5
        : throw new InvalidOperationException($"SAGAW 0x{Sagaw:x} has no 3-, 4- or 5-level width");

    /// <summary>The AW field (context entry, PASID entry) for a number of levels: 1 = 39-bit, 2 = 48-bit, 3 = 57-bit.</summary>
    public static int AwForLevels(int levels) => levels - 2;

    public bool Supports2MiB => (Sllps & 0b01) != 0;
    public bool Supports1GiB => (Sllps & 0b10) != 0;
}

/// <summary>One fault recording register (FRCD_REG, 128 bits), decoded.</summary>
internal readonly record struct FaultRecord(int Index, ulong Low, ulong High)
{
    public bool F => (High >> 63) != 0;
    public bool T1 => ((High >> 62) & 1) != 0;     // with T2 = 0: 0 write, 1 read
    public int AddressType => (int)((High >> 60) & 3);
    public uint PasidValue => (uint)((High >> 40) & 0xFFFFF);
    public int Reason => (int)((High >> 32) & 0xFF);
    public bool PasidPresent => ((High >> 31) & 1) != 0;
    public bool Execute => ((High >> 30) & 1) != 0;
    public bool Privileged => ((High >> 29) & 1) != 0;
    public bool T2 => ((High >> 28) & 1) != 0;
    public ushort SourceId => (ushort)(High & 0xFFFF);
    public ulong FaultInfo => Low & ~0xFFFUL;
    public bool IsRead => T1 && !T2;
    public bool IsWrite => !T1 && !T2;
}

/// <summary>An invalidation descriptor, 128 bits (legacy queue) or 256 bits (scalable queue, DW = 1).</summary>
internal readonly record struct InvDescriptor(ulong Qw0, ulong Qw1, ulong Qw2 = 0, ulong Qw3 = 0)
{
    // Type codes: bits 3:0 and 11:9 of qword 0.
    public const ulong ContextCacheType = 0x1;
    public const ulong IotlbType = 0x2;
    public const ulong InvWaitType = 0x5;
    public const ulong PasidIotlbType = 0x6;
    public const ulong PasidCacheType = 0x7;

    public static InvDescriptor ContextCache(int granularity, ushort did = 0, ushort sid = 0, int fm = 0) =>
        new(ContextCacheType | ((ulong)granularity << 4) | ((ulong)did << 16) | ((ulong)sid << 32) | ((ulong)fm << 48), 0);

    public static InvDescriptor Iotlb(int granularity, ushort did = 0, ulong addr = 0, int am = 0, bool ih = false,
        bool drainReads = false, bool drainWrites = false) =>
        new(IotlbType | ((ulong)granularity << 4) | (drainWrites ? 1UL << 6 : 0) | (drainReads ? 1UL << 7 : 0) | ((ulong)did << 16),
            (addr & ~0xFFFUL) | (ih ? 1UL << 6 : 0) | (uint)am);

    /// <summary>Invalidation wait: SW (status write) and FN (fence); status data in bits 63:32, address in qword 1.</summary>
    public static InvDescriptor Wait(ulong statusAddress, uint statusData, bool interrupt = false) =>
        new(InvWaitType | (interrupt ? 1UL << 4 : 0) | (1UL << 5) | (1UL << 6) | ((ulong)statusData << 32),
            statusAddress & ~3UL);

    /// <summary>PASID-cache invalidation: G = 00 domain-selective, 01 PASID-selective, 11 global.</summary>
    public static InvDescriptor PasidCache(int granularity, ushort did = 0, uint pasid = 0) =>
        new(PasidCacheType | ((ulong)granularity << 4) | ((ulong)did << 16) | ((ulong)(pasid & 0xFFFFF) << 32), 0);

    public const int PasidCacheDomain = 0;
    public const int PasidCachePasid = 1;
    public const int PasidCacheGlobal = 3;

    /// <summary>PASID-based IOTLB invalidation: G = 10 all (non-global) mappings of a PASID, 11 page-selective within PASID.</summary>
    public static InvDescriptor PasidIotlb(int granularity, ushort did, uint pasid, ulong addr = 0, int am = 0, bool ih = false) =>
        new(PasidIotlbType | ((ulong)granularity << 4) | ((ulong)did << 16) | ((ulong)(pasid & 0xFFFFF) << 32),
            (addr & ~0xFFFUL) | (ih ? 1UL << 6 : 0) | (uint)am);

    public const ulong DeviceTlbType = 0x3;
    public const ulong PasidDeviceTlbType = 0x8;

    /// <summary>Device-TLB invalidation (spec 6.5.2.5): SID in qword 0 bits 47:32; qword 1 ADDR 63:12 with S in bit 0
    /// (S set: the lowest clear address bit from 12 up gives the size, as PCIe ATS encodes it).</summary>
    public static InvDescriptor DeviceTlb(ushort sid, ulong addr, bool s) =>
        new(DeviceTlbType | ((ulong)sid << 32), (addr & ~0xFFFUL) | (s ? 1UL : 0));

    /// <summary>PASID-based device-TLB invalidation (spec 6.5.2.6): SID 31:16 and PASID 51:32 in qword 0; qword 1 ADDR
    /// 63:12, S in bit 11, G in bit 0.</summary>
    public static InvDescriptor PasidDeviceTlb(ushort sid, uint pasid, ulong addr, bool s, bool g = false) =>
        new(PasidDeviceTlbType | ((ulong)sid << 16) | ((ulong)(pasid & 0xFFFFF) << 32),
            (addr & ~0xFFFUL) | (s ? 1UL << 11 : 0) | (g ? 1UL : 0));

    public const int PasidIotlbPasid = 2;
    public const int PasidIotlbPage = 3;
}

/// <summary>
/// A second-level page table of the driver's own (VT-d spec, second-level paging entries): R = bit 0,
/// W = bit 1, PS = bit 7 (leaf at a PDE/PDPE), address in bits 51:12. Entries with R = W = 0 are not present.
/// </summary>
internal sealed class SecondLevelTable
{
    public const ulong Read = 1UL << 0;
    public const ulong Write = 1UL << 1;
    public const ulong PageSize = 1UL << 7;
    public const ulong AddressMask = 0x000F_FFFF_FFFF_F000UL;

    private readonly PhysicalMemory _memory;

    public SecondLevelTable(PhysicalMemory memory, int levels)
    {
        _memory = memory;
        Levels = levels;
        Root = memory.Frames.Allocate();
    }

    public ulong Root { get; }

    public int Levels { get; }

    private static int Index(ulong iova, int level) => (int)((iova >> (12 + (9 * (level - 1)))) & 0x1FF);

    private static int LeafLevel(ulong size) => size switch
    {
        0x1000 => 1,
        0x20_0000 => 2,
        0x4000_0000 => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(size), "4 KiB, 2 MiB or 1 GiB"),
    };

    /// <summary>HPA of the entry that maps <paramref name="iova"/> at the leaf level of a page of
    /// <paramref name="size"/>, allocating the intermediate tables (non-leaf entries R|W).</summary>
    public ulong LeafSlot(ulong iova, ulong size)
    {
        int leaf = LeafLevel(size);
        ulong table = Root;
        for (int level = Levels; level > leaf; level--)
        {
            ulong slot = table + ((ulong)Index(iova, level) * 8);
            ulong entry = _memory.ReadUInt64(slot);
            if ((entry & (Read | Write)) == 0)
            {
                ulong next = _memory.Frames.Allocate();
                entry = next | Read | Write;
                _memory.WriteUInt64(slot, entry);
            }
            table = entry & AddressMask;
        }
        return table + ((ulong)Index(iova, leaf) * 8);
    }

    public static ulong LeafEntry(ulong hpa, ulong size, DmaProtection protection) =>
        (hpa & AddressMask)
        | ((protection & DmaProtection.Read) != 0 ? Read : 0)
        | ((protection & DmaProtection.Write) != 0 ? Write : 0)
        | (size > 0x1000 ? PageSize : 0);

    public void Map(ulong iova, ulong hpa, ulong size, DmaProtection protection)
    {
        if ((iova & (size - 1)) != 0 || (hpa & (size - 1)) != 0)
            throw new ArgumentException("iova and hpa must be aligned to the page size");
        _memory.WriteUInt64(LeafSlot(iova, size), LeafEntry(hpa, size, protection));
    }

    public void Unmap(ulong iova, ulong size) => _memory.WriteUInt64(LeafSlot(iova, size), 0);
}

/// <summary>The VT-d driver: boot, tables, invalidation and fault handling, from the spec.</summary>
internal sealed class SpecDriver
{
    private static readonly TimeSpan PollTimeout = TimeSpan.FromSeconds(2);

    private readonly Dictionary<int, ulong> _contextTables = [];        // key: bus * 2 + (devfn >= 128 in scalable)
    private readonly Dictionary<int, (ulong Dir, int Pdts)> _pasidDirs = [];  // key: bus << 8 | devfn
    private ulong _queue;
    private int _queueEntries;
    private int _descriptorBytes;
    private int _tail;
    private ulong _statusPage;
    private uint _statusCounter;

    public SpecDriver(IMmioRegion mmio, PhysicalMemory memory)
    {
        Mmio = mmio;
        Memory = memory;
        Cap = new VtdCapability(Read64(VtdRegs.Cap), Read64(VtdRegs.Ecap));
        Levels = Cap.PreferredLevels;
    }

    public IMmioRegion Mmio { get; }

    public PhysicalMemory Memory { get; }

    public VtdCapability Cap { get; }

    /// <summary>Second-level paging levels the driver builds (from SAGAW).</summary>
    public int Levels { get; }

    public bool Scalable { get; private set; }

    public bool QueuedInvalidation { get; private set; }

    public ulong RootTable { get; private set; }

    public ulong QueueBase => _queue;

    public int DescriptorBytes => _descriptorBytes;

    public int TailIndex => _tail;

    public ulong StatusPage => _statusPage;

    public ulong IvaRegister => Cap.IotlbRegisterOffset;

    public ulong IotlbRegister => Cap.IotlbRegisterOffset + 8;

    public ulong FaultRecordRegister(int index) => Cap.FaultRecordOffset + ((ulong)index * 16);

    // ---- register access -------------------------------------------------------------------

    public uint Read32(ulong offset) => (uint)Mmio.Read(offset, 4);

    public ulong Read64(ulong offset) => Mmio.Read(offset, 8);

    public void Write32(ulong offset, uint value) => Mmio.Write(offset, 4, value);

    public void Write64(ulong offset, ulong value) => Mmio.Write(offset, 8, value);

    public static void Poll(Func<bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!done())
        {
            if (clock.Elapsed > PollTimeout)
                throw new TimeoutException($"VT-d driver: timed out waiting for {what}");
            Thread.Yield();
        }
    }

    /// <summary>Issues a GCMD command the way the spec asks: read GSTS, drop the one-shot bits,
    /// set or clear the one command bit, write GCMD, then wait for the status bit to follow.</summary>
    public void GlobalCommand(uint command, bool enable)
    {
        uint status = Read32(VtdRegs.Gsts) & ~VtdRegs.OneShotCommands;
        uint value = enable ? status | command : status & ~command;
        Write32(VtdRegs.Gcmd, value);
        Poll(() => ((Read32(VtdRegs.Gsts) & command) != 0) == enable, $"GSTS bit 0x{command:x8} = {enable}");
    }

    // ---- boot ------------------------------------------------------------------------------

    /// <summary>Boots the unit as Linux does: fault interrupt unmasked, root table set, queued
    /// invalidation enabled (or not), global context/PASID/IOTLB invalidation, then translation enabled.</summary>
    public void Boot(bool scalable, bool queuedInvalidation = true, bool enableTranslation = true)
    {
        if (scalable && !Cap.ScalableMode)
            throw new InvalidOperationException("ECAP.SMTS is clear: no scalable mode");
        if (queuedInvalidation && !Cap.QueuedInvalidation)
            throw new InvalidOperationException("ECAP.QI is clear");
        if (scalable && !queuedInvalidation)
            throw new InvalidOperationException("scalable mode takes its invalidations through the queue");

        // Fault event interrupt: message address/data, then unmask (IM is set at reset).
        Write32(VtdRegs.Fedata, 0x0041);
        Write32(VtdRegs.Feaddr, 0xFEE0_0000);
        Write32(VtdRegs.Feuaddr, 0);
        Write32(VtdRegs.Fectl, 0);

        Scalable = scalable;
        RootTable = Memory.Frames.Allocate();
        SetRootTablePointer();

        if (queuedInvalidation)
            EnableQueuedInvalidation();

        FlushContextGlobal();
        if (Scalable)
            SubmitAndWait(InvDescriptor.PasidCache(InvDescriptor.PasidCacheGlobal));
        FlushIotlbGlobal();

        if (enableTranslation)
            GlobalCommand(VtdRegs.Te, enable: true);
    }

    public void SetRootTablePointer()
    {
        Write64(VtdRegs.Rtaddr, RootTable | ((ulong)(Scalable ? VtdRegs.TtmScalable : VtdRegs.TtmLegacy) << 10));
        GlobalCommand(VtdRegs.Srtp, enable: true);   // completes when GSTS.RTPS is set
    }

    /// <summary>One 4 KiB queue page (QS = 0); 256-bit descriptors (DW = 1) in scalable mode.</summary>
    public void EnableQueuedInvalidation()
    {
        _queue = Memory.Frames.Allocate();
        _statusPage = Memory.Frames.Allocate();
        _descriptorBytes = Scalable ? 32 : 16;
        _queueEntries = 4096 / _descriptorBytes;
        _tail = 0;
        Write64(VtdRegs.Iqt, 0);
        Write64(VtdRegs.Iqa, _queue | (Scalable ? VtdRegs.IqaDw256 : 0) | 0 /* QS */);
        GlobalCommand(VtdRegs.Qie, enable: true);
        QueuedInvalidation = true;
    }

    public void DisableQueuedInvalidation()
    {
        GlobalCommand(VtdRegs.Qie, enable: false);
        QueuedInvalidation = false;
    }

    // ---- queued invalidation ---------------------------------------------------------------

    /// <summary>Writes a descriptor into slot <paramref name="index"/> of the queue (no tail move).</summary>
    public void WriteDescriptor(int index, InvDescriptor d)
    {
        ulong slot = _queue + ((ulong)index * (ulong)_descriptorBytes);
        Memory.WriteUInt64(slot, d.Qw0);
        Memory.WriteUInt64(slot + 8, d.Qw1);
        if (_descriptorBytes == 32)
        {
            Memory.WriteUInt64(slot + 16, d.Qw2);
            Memory.WriteUInt64(slot + 24, d.Qw3);
        }
    }

    /// <summary>Places descriptors at the tail and writes IQT once past them.</summary>
    public void Submit(params InvDescriptor[] descriptors)
    {
        if (!QueuedInvalidation)
            throw new InvalidOperationException("queued invalidation is not enabled");
        foreach (var d in descriptors)
        {
            int next = (_tail + 1) % _queueEntries;
            int head = (int)(Read64(VtdRegs.Iqh) / (ulong)_descriptorBytes);
            if (next == head)
                throw new InvalidOperationException("invalidation queue full");
            WriteDescriptor(_tail, d);
            _tail = next;
        }
        Write64(VtdRegs.Iqt, (ulong)_tail * (ulong)_descriptorBytes);
    }

    /// <summary>A fresh status slot and value for an invalidation wait.</summary>
    public (ulong Address, uint Data) NextStatus()
    {
        _statusCounter++;
        ulong address = _statusPage + ((ulong)(_statusCounter % 512) * 8);
        Memory.WriteUInt64(address, 0);
        return (address, 0x5A00_0000u | _statusCounter);
    }

    public bool StatusWritten(ulong address, uint data) => (uint)Memory.ReadUInt64(address) == data;

    /// <summary>Submits the descriptors followed by an invalidation wait with status write and polls the status word.</summary>
    public void SubmitAndWait(params InvDescriptor[] descriptors)
    {
        var (address, data) = NextStatus();
        Submit([.. descriptors, InvDescriptor.Wait(address, data)]);
        Poll(() => StatusWritten(address, data), "the invalidation wait status write");
    }

    // ---- invalidation, queued or register-based ---------------------------------------------

    public void FlushContextGlobal()
    {
        if (QueuedInvalidation)
            SubmitAndWait(InvDescriptor.ContextCache(VtdRegs.GranGlobal));
        else
            RegisterContextInvalidate(VtdRegs.GranGlobal);
    }

    public void FlushContextDevice(ushort did, ushort sourceId)
    {
        if (QueuedInvalidation)
            SubmitAndWait(InvDescriptor.ContextCache(VtdRegs.GranDeviceOrPage, did, sourceId));
        else
            RegisterContextInvalidate(VtdRegs.GranDeviceOrPage, did, sourceId);
    }

    public void FlushIotlbGlobal()
    {
        if (QueuedInvalidation)
            SubmitAndWait(InvDescriptor.Iotlb(VtdRegs.GranGlobal, drainReads: Cap.ReadDrain, drainWrites: Cap.WriteDrain));
        else
            RegisterIotlbInvalidate(VtdRegs.GranGlobal);
    }

    public void FlushIotlbDomain(ushort did)
    {
        if (QueuedInvalidation)
            SubmitAndWait(InvDescriptor.Iotlb(VtdRegs.GranDomain, did, drainReads: Cap.ReadDrain, drainWrites: Cap.WriteDrain));
        else
            RegisterIotlbInvalidate(VtdRegs.GranDomain, did);
    }

    /// <summary>Page-selective IOTLB invalidation of 2^am pages at <paramref name="iova"/> (needs CAP.PSI, am &lt;= MAMV).</summary>
    public void FlushIotlbPage(ushort did, ulong iova, int am = 0)
    {
        if (!Cap.Psi || am > Cap.Mamv)
        {
            FlushIotlbDomain(did);
            return;
        }
        if (QueuedInvalidation)
            SubmitAndWait(InvDescriptor.Iotlb(VtdRegs.GranDeviceOrPage, did, iova, am, drainReads: Cap.ReadDrain, drainWrites: Cap.WriteDrain));
        else
            RegisterIotlbInvalidate(VtdRegs.GranDeviceOrPage, did, iova, am);
    }

    /// <summary>Register-based context-cache invalidation (CCMD_REG); returns CAIG.</summary>
    public int RegisterContextInvalidate(int granularity, ushort did = 0, ushort sourceId = 0, int functionMask = 0)
    {
        ulong value = VtdRegs.Icc | ((ulong)granularity << VtdRegs.CirgShift)
            | ((ulong)functionMask << VtdRegs.CcmdFmShift) | ((ulong)sourceId << VtdRegs.CcmdSidShift) | did;
        Write64(VtdRegs.Ccmd, value);
        Poll(() => (Read64(VtdRegs.Ccmd) & VtdRegs.Icc) == 0, "CCMD.ICC to clear");
        return (int)((Read64(VtdRegs.Ccmd) >> VtdRegs.CaigShift) & 3);
    }

    /// <summary>Register-based IOTLB invalidation (IVA_REG then IOTLB_REG); returns IAIG.</summary>
    public int RegisterIotlbInvalidate(int granularity, ushort did = 0, ulong iova = 0, int am = 0, bool ih = false)
    {
        if (granularity == VtdRegs.GranDeviceOrPage)
            Write64(IvaRegister, (iova & ~0xFFFUL) | (ih ? VtdRegs.IvaIh : 0) | (uint)am);
        ulong value = VtdRegs.Ivt | ((ulong)granularity << VtdRegs.IirgShift) | ((ulong)did << VtdRegs.IotlbDidShift)
            | (Cap.ReadDrain ? VtdRegs.IotlbDr : 0) | (Cap.WriteDrain ? VtdRegs.IotlbDw : 0);
        Write64(IotlbRegister, value);
        Poll(() => (Read64(IotlbRegister) & VtdRegs.Ivt) == 0, "IOTLB_REG.IVT to clear");
        return (int)((Read64(IotlbRegister) >> VtdRegs.IaigShift) & 3);
    }

    // ---- translation structures ------------------------------------------------------------

    public SecondLevelTable NewSecondLevelTable() => new(Memory, Levels);

    public static ushort SourceId(int bus, int device, int function) => (ushort)((bus << 8) | (device << 3) | function);

    /// <summary>The context table for (bus, devfn), allocated and made present in the root entry on first use.
    /// Legacy: one 256-entry table of 128-bit entries per bus (root entry P|CTP in qword 0).
    /// Scalable: a lower (devfn 0-127: LP|LCTP in qword 0) and an upper (128-255: UP|UCTP in qword 1)
    /// table of 128 256-bit entries.</summary>
    private ulong ContextTable(int bus, int devfn)
    {
        bool upper = Scalable && devfn >= 128;
        int key = (bus * 2) + (upper ? 1 : 0);
        if (_contextTables.TryGetValue(key, out ulong table))
            return table;
        table = Memory.Frames.Allocate();
        _contextTables[key] = table;
        ulong rootEntry = RootTable + ((ulong)bus * 16);
        Memory.WriteUInt64(rootEntry + (upper ? 8UL : 0UL), table | 1);
        return table;
    }

    public ulong ContextEntryAddress(int bus, int devfn) =>
        Scalable
            ? ContextTable(bus, devfn) + ((ulong)(devfn & 0x7F) * 32)
            : ContextTable(bus, devfn) + ((ulong)devfn * 16);

    /// <summary>Legacy context entry: TT = 00 (untranslated requests through second level), AW, DID, SLPTPTR.</summary>
    public void AttachLegacy(int bus, int devfn, ushort did, SecondLevelTable table, int? addressWidth = null, bool deviceTlb = false)
    {
        if (Scalable)
            throw new InvalidOperationException("legacy context entry in scalable mode");
        ulong entry = ContextEntryAddress(bus, devfn);
        int aw = addressWidth ?? VtdCapability.AwForLevels(table.Levels);
        Memory.WriteUInt64(entry + 8, (uint)aw | ((ulong)did << 8));
        // TT (bits 3:2): 00b untranslated requests only, 01b with device-TLB (ATS) as well. P last.
        Memory.WriteUInt64(entry, table.Root | ((deviceTlb ? 1UL : 0UL) << 2) | 1UL);
    }

    public void DetachLegacy(int bus, int devfn) => Memory.WriteUInt64(ContextEntryAddress(bus, devfn), 0);

    /// <summary>Scalable-mode context entry: P, PASIDE, PDTS, PASID directory pointer, RID_PASID.
    /// PDTS = p means a directory of 2^(p+7) entries (8 bytes each).</summary>
    public void AttachScalable(int bus, int devfn, bool pasidEnable, uint ridPasid = 0, int pdts = 0, bool deviceTlb = false, bool pageRequest = false)
    {
        if (!Scalable)
            throw new InvalidOperationException("scalable context entry in legacy mode");
        int entries = 1 << (pdts + 7);
        int frames = Math.Max(1, entries * 8 / 4096);
        ulong dir = Memory.Frames.AllocateContiguous(frames);
        _pasidDirs[(bus << 8) | devfn] = (dir, pdts);
        ulong entry = ContextEntryAddress(bus, devfn);
        Memory.WriteUInt64(entry + 8, ridPasid & 0xFFFFF);
        Memory.WriteUInt64(entry + 16, 0);
        Memory.WriteUInt64(entry + 24, 0);
        // Qword 0: P bit 0, FPD 1, DTE 2, PASIDE 3, PRE 4, PDTS 11:9, PASIDDIRPTR 63:12.
        Memory.WriteUInt64(entry, dir | ((ulong)pdts << 9) | (pasidEnable ? 1UL << 3 : 0) | (deviceTlb ? 1UL << 2 : 0)
            | (pageRequest ? 1UL << 4 : 0) | 1UL);
    }

    /// <summary>The 512-bit PASID table entry for (bus, devfn, pasid), allocating its PASID table
    /// (64 entries, PASID[5:0]) and the directory entry (PASID[19:6]) on first use.</summary>
    public ulong PasidEntryAddress(int bus, int devfn, uint pasid)
    {
        var (dir, _) = _pasidDirs[(bus << 8) | devfn];
        ulong dirEntry = dir + ((ulong)(pasid >> 6) * 8);
        ulong value = Memory.ReadUInt64(dirEntry);
        if ((value & 1) == 0)
        {
            value = Memory.Frames.Allocate() | 1;
            Memory.WriteUInt64(dirEntry, value);
        }
        return (value & ~0xFFFUL) + ((ulong)(pasid & 0x3F) * 64);
    }

    /// <summary>PASID entry with PGTT = 010b (second-level only), AW, SLPTPTR, DID.</summary>
    public void SetPasidSecondLevel(int bus, int devfn, uint pasid, ushort did, SecondLevelTable table)
    {
        ulong entry = PasidEntryAddress(bus, devfn, pasid);
        for (ulong q = 1; q < 8; q++)
            Memory.WriteUInt64(entry + (q * 8), 0);
        Memory.WriteUInt64(entry + 8, did);
        ulong qw0 = table.Root | (2UL << 6) | ((ulong)VtdCapability.AwForLevels(table.Levels) << 2) | 1UL;
        Memory.WriteUInt64(entry, qw0);   // P last
    }

    public void ClearPasidEntry(int bus, int devfn, uint pasid) =>
        Memory.WriteUInt64(PasidEntryAddress(bus, devfn, pasid), 0);

    /// <summary>Tears a PASID down as the spec's invalidation guidance asks: clear P, PASID-cache
    /// (PASID-selective), PASID-based IOTLB (all of the PASID), wait.</summary>
    public void TearDownPasid(int bus, int devfn, uint pasid, ushort did)
    {
        ClearPasidEntry(bus, devfn, pasid);
        SubmitAndWait(
            InvDescriptor.PasidCache(InvDescriptor.PasidCachePasid, did, pasid),
            InvDescriptor.PasidIotlb(InvDescriptor.PasidIotlbPasid, did, pasid));
    }

    // ---- faults ----------------------------------------------------------------------------

    public uint FaultStatus => Read32(VtdRegs.Fsts);

    public int FaultRecordIndex => (int)((FaultStatus >> VtdRegs.FriShift) & 0xFF);

    public FaultRecord ReadFaultRecord(int index)
    {
        ulong reg = FaultRecordRegister(index);
        return new FaultRecord(index, Read64(reg), Read64(reg + 8));
    }

    /// <summary>Clears F of a fault record as Linux does: a 32-bit write of bit 31 to the record's top dword.</summary>
    public void ClearFaultRecord(int index) => Write32(FaultRecordRegister(index) + 12, 0x8000_0000);

    /// <summary>The fault handler: from FSTS.FRI, read and clear every record with F set (wrapping), then clear PFO.</summary>
    public List<FaultRecord> DrainFaults()
    {
        var faults = new List<FaultRecord>();
        uint status = FaultStatus;
        if ((status & VtdRegs.Ppf) != 0)
        {
            int index = (int)((status >> VtdRegs.FriShift) & 0xFF);
            for (int n = 0; n < Cap.FaultRecordCount; n++)
            {
                var record = ReadFaultRecord(index);
                if (!record.F)
                    break;
                faults.Add(record);
                ClearFaultRecord(index);
                index = (index + 1) % Cap.FaultRecordCount;
            }
        }
        Write32(VtdRegs.Fsts, VtdRegs.Pfo | VtdRegs.Ppf);   // PFO is RW1C; PPF is read-only
        return faults;
    }
}
