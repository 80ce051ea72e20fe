namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>
/// SMMUv3 register offsets and fields (Arm IHI 0070, chapter 6): page 0 at offset 0, page 1 at 0x10000 (the event and
/// PRI queues' producer and consumer indexes). Every field is defined once here and used by the hardware, the drivers
/// and the docs.
/// </summary>
public static class SmmuRegisters
{
    /// <summary>Bytes of the register region modelled: pages 0 and 1 (64 KiB each).</summary>
    public const ulong RegionSize = 0x20000;

    /// <summary>SMMU_IDR0 (32 bits, RO).</summary>
    public const ulong Idr0 = 0x00;

    /// <summary>SMMU_IDR1 (32 bits, RO).</summary>
    public const ulong Idr1 = 0x04;

    /// <summary>SMMU_IDR2 (32 bits, RO).</summary>
    public const ulong Idr2 = 0x08;

    /// <summary>SMMU_IDR3 (32 bits, RO).</summary>
    public const ulong Idr3 = 0x0C;

    /// <summary>SMMU_IDR4 (32 bits, RO).</summary>
    public const ulong Idr4 = 0x10;

    /// <summary>SMMU_IDR5 (32 bits, RO).</summary>
    public const ulong Idr5 = 0x14;

    /// <summary>SMMU_IIDR (32 bits, RO).</summary>
    public const ulong Iidr = 0x18;

    /// <summary>SMMU_AIDR (32 bits, RO): architecture revision (0 for SMMUv3.0).</summary>
    public const ulong Aidr = 0x1C;

    /// <summary>SMMU_CR0 (32 bits).</summary>
    public const ulong Cr0 = 0x20;

    /// <summary>SMMU_CR0ACK (32 bits, RO): CR0's fields once they took effect.</summary>
    public const ulong Cr0Ack = 0x24;

    /// <summary>SMMU_CR1 (32 bits): table and queue memory attributes (held, not modelled).</summary>
    public const ulong Cr1 = 0x28;

    /// <summary>SMMU_CR2 (32 bits): E2H, RECINVSID, PTM (held, not modelled).</summary>
    public const ulong Cr2 = 0x2C;

    /// <summary>SMMU_STATUSR (32 bits, RO).</summary>
    public const ulong Statusr = 0x40;

    /// <summary>SMMU_GBPA (32 bits): what transactions get while SMMUEN is clear.</summary>
    public const ulong Gbpa = 0x44;

    /// <summary>SMMU_IRQ_CTRL (32 bits).</summary>
    public const ulong IrqCtrl = 0x50;

    /// <summary>SMMU_IRQ_CTRLACK (32 bits, RO).</summary>
    public const ulong IrqCtrlAck = 0x54;

    /// <summary>SMMU_GERROR (32 bits, RO): global errors, each toggled when it occurs.</summary>
    public const ulong Gerror = 0x60;

    /// <summary>SMMU_GERRORN (32 bits): software acknowledges a GERROR field by making its GERRORN field equal.</summary>
    public const ulong Gerrorn = 0x64;

    /// <summary>SMMU_STRTAB_BASE (64 bits).</summary>
    public const ulong StrtabBase = 0x80;

    /// <summary>SMMU_STRTAB_BASE_CFG (32 bits).</summary>
    public const ulong StrtabBaseCfg = 0x88;

    /// <summary>SMMU_CMDQ_BASE (64 bits).</summary>
    public const ulong CmdqBase = 0x90;

    /// <summary>SMMU_CMDQ_PROD (32 bits): software's producer index.</summary>
    public const ulong CmdqProd = 0x98;

    /// <summary>SMMU_CMDQ_CONS (32 bits): the SMMU's consumer index and the command error (ERR).</summary>
    public const ulong CmdqCons = 0x9C;

    /// <summary>SMMU_EVENTQ_BASE (64 bits).</summary>
    public const ulong EventqBase = 0xA0;

    /// <summary>SMMU_EVENTQ_PROD (32 bits, page 1): the SMMU's producer index, OVFLG in bit 31.</summary>
    public const ulong EventqProd = 0x100A8;

    /// <summary>SMMU_EVENTQ_CONS (32 bits, page 1): software's consumer index, OVACKFLG in bit 31.</summary>
    public const ulong EventqCons = 0x100AC;

    /// <summary>SMMU_IDR0 fields.</summary>
    public static class Idr0Fields
    {
        /// <summary>S2P, bit 0: stage 2 translation.</summary>
        public static readonly RegisterField Stage2 = new(0, 1);

        /// <summary>S1P, bit 1: stage 1 translation.</summary>
        public static readonly RegisterField Stage1 = new(1, 1);

        /// <summary>TTF, bits 3:2: translation table formats (2: AArch64).</summary>
        public static readonly RegisterField TableFormats = new(2, 2);

        /// <summary>COHACC, bit 4: coherent access to tables and queues.</summary>
        public static readonly RegisterField CoherentAccess = new(4, 1);

        /// <summary>ATS, bit 10.</summary>
        public static readonly RegisterField Ats = new(10, 1);

        /// <summary>ASID16, bit 12: 16-bit ASIDs.</summary>
        public static readonly RegisterField Asid16 = new(12, 1);

        /// <summary>MSI, bit 13: MSI interrupts (and CMD_SYNC's MSI write).</summary>
        public static readonly RegisterField Msi = new(13, 1);

        /// <summary>PRI, bit 16.</summary>
        public static readonly RegisterField Pri = new(16, 1);

        /// <summary>VMID16, bit 18: 16-bit VMIDs.</summary>
        public static readonly RegisterField Vmid16 = new(18, 1);

        /// <summary>CD2L, bit 19: 2-level CD tables.</summary>
        public static readonly RegisterField TwoLevelCdTables = new(19, 1);

        /// <summary>ST_LEVEL, bits 28:27: 1 when 2-level stream tables are supported.</summary>
        public static readonly RegisterField StreamTableLevels = new(27, 2);
    }

    /// <summary>SMMU_IDR1 fields.</summary>
    public static class Idr1Fields
    {
        /// <summary>SIDSIZE, bits 5:0: StreamID bits.</summary>
        public static readonly RegisterField StreamIdSize = new(0, 6);

        /// <summary>SSIDSIZE, bits 10:6: SubstreamID bits.</summary>
        public static readonly RegisterField SubstreamIdSize = new(6, 5);

        /// <summary>EVENTQS, bits 20:16: log2 of the largest event queue.</summary>
        public static readonly RegisterField EventQueueSize = new(16, 5);

        /// <summary>CMDQS, bits 25:21: log2 of the largest command queue.</summary>
        public static readonly RegisterField CommandQueueSize = new(21, 5);
    }

    /// <summary>SMMU_IDR3 fields.</summary>
    public static class Idr3Fields
    {
        /// <summary>RIL, bit 10: range invalidation (TG, NUM and SCALE in CMD_TLBI_NH_VA and CMD_TLBI_S2_IPA).</summary>
        public static readonly RegisterField RangeInvalidation = new(10, 1);
    }

    /// <summary>SMMU_IDR5 fields.</summary>
    public static class Idr5Fields
    {
        /// <summary>OAS, bits 2:0: output address size (0: 32, 1: 36, 2: 40, 3: 42, 4: 44, 5: 48 bits).</summary>
        public static readonly RegisterField OutputAddressSize = new(0, 3);

        /// <summary>GRAN4K, bit 4: the 4 KiB granule.</summary>
        public static readonly RegisterField Granule4K = new(4, 1);

        /// <summary>The bits an OAS or IPS/PS encoding names.</summary>
        /// <param name="encoding">0-6.</param>
        /// <returns>32, 36, 40, 42, 44, 48 or 52.</returns>
        public static int Bits(int encoding) => encoding switch { 0 => 32, 1 => 36, 2 => 40, 3 => 42, 4 => 44, 5 => 48, _ => 52 };
    }

    /// <summary>SMMU_CR0 (and CR0ACK) fields.</summary>
    public static class Cr0Fields
    {
        /// <summary>SMMUEN, bit 0: translation on.</summary>
        public static readonly RegisterField SmmuEnable = new(0, 1);

        /// <summary>PRIQEN, bit 1.</summary>
        public static readonly RegisterField PriQueueEnable = new(1, 1);

        /// <summary>EVTQEN, bit 2.</summary>
        public static readonly RegisterField EventQueueEnable = new(2, 1);

        /// <summary>CMDQEN, bit 3.</summary>
        public static readonly RegisterField CommandQueueEnable = new(3, 1);

        /// <summary>ATSCHK, bit 4: translated requests are checked against the STE's EATS.</summary>
        public static readonly RegisterField AtsCheck = new(4, 1);
    }

    /// <summary>SMMU_GBPA fields.</summary>
    public static class GbpaFields
    {
        /// <summary>ABORT, bit 20: while SMMUEN is clear, transactions abort (else they bypass).</summary>
        public static readonly RegisterField Abort = new(20, 1);

        /// <summary>UPDATE, bit 31: set by software with a new value; cleared by the SMMU once it took effect.</summary>
        public static readonly RegisterField Update = new(31, 1);
    }

    /// <summary>SMMU_GERROR and SMMU_GERRORN fields.</summary>
    public static class GerrorFields
    {
        /// <summary>CMDQ_ERR, bit 0: the command queue stopped on an error (CMDQ_CONS.ERR says which).</summary>
        public static readonly RegisterField CommandQueueError = new(0, 1);

        /// <summary>EVTQ_ABT_ERR, bit 2: an event queue write aborted.</summary>
        public static readonly RegisterField EventQueueAbortError = new(2, 1);
    }

    /// <summary>SMMU_STRTAB_BASE fields.</summary>
    public static class StrtabBaseFields
    {
        /// <summary>ADDR, bits 51:6.</summary>
        public static readonly RegisterField Address = new(6, 46);

        /// <summary>RA, bit 62: read-allocate hint.</summary>
        public static readonly RegisterField ReadAllocate = new(62, 1);
    }

    /// <summary>SMMU_STRTAB_BASE_CFG fields.</summary>
    public static class StrtabBaseCfgFields
    {
        /// <summary>LOG2SIZE, bits 5:0: the table covers 2^LOG2SIZE StreamIDs.</summary>
        public static readonly RegisterField Log2Size = new(0, 6);

        /// <summary>SPLIT, bits 10:6: StreamID bits a level-2 table resolves (6, 8 or 10).</summary>
        public static readonly RegisterField Split = new(6, 5);

        /// <summary>FMT, bits 17:16: 0 linear, 1 2-level.</summary>
        public static readonly RegisterField Format = new(16, 2);
    }

    /// <summary>SMMU_CMDQ_BASE and SMMU_EVENTQ_BASE fields.</summary>
    public static class QueueBaseFields
    {
        /// <summary>LOG2SIZE, bits 4:0: 2^LOG2SIZE entries.</summary>
        public static readonly RegisterField Log2Size = new(0, 5);

        /// <summary>ADDR, bits 51:5.</summary>
        public static readonly RegisterField Address = new(5, 47);

        /// <summary>RA / WA, bit 62 (not modelled).</summary>
        public static readonly RegisterField Allocate = new(62, 1);
    }

    /// <summary>SMMU_CMDQ_CONS fields.</summary>
    public static class CmdqConsFields
    {
        /// <summary>ERR, bits 30:24: 0 none, 1 CERROR_ILL, 2 CERROR_ABT, 3 CERROR_ATC_INV_SYNC.</summary>
        public static readonly RegisterField Error = new(24, 7);

        /// <summary>ERR value CERROR_ILL: an illegal command (an unknown opcode, or a field out of range).</summary>
        public const uint IllegalCommand = 1;

        /// <summary>ERR value CERROR_ABT: the command could not be fetched.</summary>
        public const uint CommandAbort = 2;

        /// <summary>ERR value CERROR_ATC_INV_SYNC: a CMD_SYNC could not complete an earlier CMD_ATC_INV (a function did not
        /// answer its invalidation request in time). CONS stays at the CMD_SYNC, which runs again once software
        /// acknowledges GERROR.CMDQ_ERR.</summary>
        public const uint AtcInvalidationSync = 3;
    }

    /// <summary>SMMU_EVENTQ_PROD and CONS fields: the index (with its wrap bit above LOG2SIZE), and the overflow flags.</summary>
    public static class EventqIndexFields
    {
        /// <summary>OVFLG (PROD) / OVACKFLG (CONS), bit 31.</summary>
        public static readonly RegisterField Overflow = new(31, 1);
    }
}
