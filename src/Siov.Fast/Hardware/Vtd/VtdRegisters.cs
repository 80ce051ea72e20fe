namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// The VT-d remapping unit's register offsets and fields (VT-d specification, chapter 11 "Register
/// Descriptions"). Each field is defined once here, as bit position and width, and used by the model's
/// decode and encode. The IOTLB registers sit at <c>ECAP_REG.IRO * 16</c> and the fault recording
/// registers at <c>CAP_REG.FRO * 16</c>; the rest are at fixed offsets.
/// </summary>
public static class VtdRegisters
{
    /// <summary>Bytes of the register region (one 4 KiB page).</summary>
    public const ulong RegionSize = 0x1000;

    /// <summary>VER_REG (32 bits, RO): architecture version, major in bits 7:4, minor in 3:0.</summary>
    public const ulong VersionOffset = 0x00;

    /// <summary>CAP_REG (64 bits, RO).</summary>
    public const ulong CapabilityOffset = 0x08;

    /// <summary>ECAP_REG (64 bits, RO).</summary>
    public const ulong ExtendedCapabilityOffset = 0x10;

    /// <summary>GCMD_REG (32 bits, WO; reads 0): see <see cref="GlobalCommand"/>.</summary>
    public const ulong GlobalCommandOffset = 0x18;

    /// <summary>GSTS_REG (32 bits, RO): the status bit of each command, same positions as GCMD.</summary>
    public const ulong GlobalStatusOffset = 0x1C;

    /// <summary>RTADDR_REG (64 bits): root table address and translation table mode; latched by GCMD.SRTP.</summary>
    public const ulong RootTableAddressOffset = 0x20;

    /// <summary>CCMD_REG (64 bits): register-based context-cache invalidation.</summary>
    public const ulong ContextCommandOffset = 0x28;

    /// <summary>FSTS_REG (32 bits): fault status.</summary>
    public const ulong FaultStatusOffset = 0x34;

    /// <summary>FECTL_REG (32 bits): fault event control (IM bit 31, IP bit 30).</summary>
    public const ulong FaultEventControlOffset = 0x38;

    /// <summary>FEDATA_REG (32 bits): fault event message data.</summary>
    public const ulong FaultEventDataOffset = 0x3C;

    /// <summary>FEADDR_REG (32 bits): fault event message address.</summary>
    public const ulong FaultEventAddressOffset = 0x40;

    /// <summary>FEUADDR_REG (32 bits): fault event message upper address.</summary>
    public const ulong FaultEventUpperAddressOffset = 0x44;

    /// <summary>IQH_REG (64 bits, RO): invalidation queue head, byte offset in bits 18:4.</summary>
    public const ulong InvalidationQueueHeadOffset = 0x80;

    /// <summary>IQT_REG (64 bits): invalidation queue tail, byte offset in bits 18:4.</summary>
    public const ulong InvalidationQueueTailOffset = 0x88;

    /// <summary>IQA_REG (64 bits): invalidation queue base, descriptor width and size.</summary>
    public const ulong InvalidationQueueAddressOffset = 0x90;

    /// <summary>ICS_REG (32 bits): invalidation completion status (IWC, bit 0, write 1 to clear).</summary>
    public const ulong InvalidationCompletionStatusOffset = 0x9C;

    /// <summary>IECTL_REG (32 bits): invalidation event control (IM bit 31, IP bit 30).</summary>
    public const ulong InvalidationEventControlOffset = 0xA0;

    /// <summary>IEDATA_REG (32 bits).</summary>
    public const ulong InvalidationEventDataOffset = 0xA4;

    /// <summary>IEADDR_REG (32 bits).</summary>
    public const ulong InvalidationEventAddressOffset = 0xA8;

    /// <summary>IEUADDR_REG (32 bits).</summary>
    public const ulong InvalidationEventUpperAddressOffset = 0xAC;

    /// <summary>IQERCD_REG (64 bits, RO): why the queue stopped (IQEI, bits 3:0).</summary>
    public const ulong InvalidationQueueErrorRecordOffset = 0xB0;

    /// <summary>PQH_REG (64 bits): page request queue head, bits 18:5 (software moves it past the descriptors it consumed).</summary>
    public const ulong PageRequestQueueHeadOffset = 0xC0;

    /// <summary>PQT_REG (64 bits, RO): page request queue tail, bits 18:5 (where the unit writes the next descriptor).</summary>
    public const ulong PageRequestQueueTailOffset = 0xC8;

    /// <summary>PQA_REG (64 bits): page request queue base (bits 63:12) and size PQS (bits 2:0, 2^PQS 4 KiB pages).</summary>
    public const ulong PageRequestQueueAddressOffset = 0xD0;

    /// <summary>PRS_REG (32 bits): page request status, PPR (bit 0) and PRO (bit 1), write 1 to clear.</summary>
    public const ulong PageRequestStatusOffset = 0xDC;

    /// <summary>PECTL_REG (32 bits): page request event control, IM (bit 31) and IP (bit 30).</summary>
    public const ulong PageRequestEventControlOffset = 0xE0;

    /// <summary>GCMD_REG and GSTS_REG bits (the command in GCMD, its status at the same position in GSTS).</summary>
    public static class GlobalCommand
    {
        /// <summary>TE/TES: translation enable.</summary>
        public static readonly RegisterField TranslationEnable = new(31, 1);

        /// <summary>SRTP/RTPS: set root table pointer (one-shot: latches RTADDR_REG).</summary>
        public static readonly RegisterField SetRootTablePointer = new(30, 1);

        /// <summary>SFL/FLS: set fault log (advanced fault logging; not modelled).</summary>
        public static readonly RegisterField SetFaultLog = new(29, 1);

        /// <summary>EAFL/AFLS: enable advanced fault logging (not modelled).</summary>
        public static readonly RegisterField EnableAdvancedFaultLogging = new(28, 1);

        /// <summary>WBF/WBFS: write buffer flush (completes at once).</summary>
        public static readonly RegisterField WriteBufferFlush = new(27, 1);

        /// <summary>QIE/QIES: queued invalidation enable.</summary>
        public static readonly RegisterField QueuedInvalidationEnable = new(26, 1);

        /// <summary>IRE/IRES: interrupt remapping enable (not modelled: ECAP_REG.IR is clear).</summary>
        public static readonly RegisterField InterruptRemappingEnable = new(25, 1);

        /// <summary>SIRTP/IRTPS: set interrupt remap table pointer (not modelled).</summary>
        public static readonly RegisterField SetInterruptRemapTablePointer = new(24, 1);

        /// <summary>CFI/CFIS: compatibility format interrupt (not modelled).</summary>
        public static readonly RegisterField CompatibilityFormatInterrupt = new(23, 1);
    }

    /// <summary>RTADDR_REG fields.</summary>
    public static class RootTableAddressRegister
    {
        /// <summary>TTM: translation table mode, 00b legacy, 01b scalable, 11b abort DMA (not modelled), 10b reserved.</summary>
        public static readonly RegisterField TranslationTableMode = new(10, 2);

        /// <summary>RTA: root table address (4 KiB aligned).</summary>
        public static readonly RegisterField Address = new(12, 52);
    }

    /// <summary>CCMD_REG fields.</summary>
    public static class ContextCommand
    {
        /// <summary>ICC: invalidate context cache (set by software, cleared by hardware when done).</summary>
        public static readonly RegisterField InvalidateContextCache = new(63, 1);

        /// <summary>CIRG: requested granularity, 01b global, 10b domain, 11b device.</summary>
        public static readonly RegisterField RequestGranularity = new(61, 2);

        /// <summary>CAIG: granularity actually performed (RO).</summary>
        public static readonly RegisterField ActualGranularity = new(59, 2);

        /// <summary>FM: function mask for device-selective invalidation.</summary>
        public static readonly RegisterField FunctionMask = new(32, 2);

        /// <summary>SID: source id for device-selective invalidation.</summary>
        public static readonly RegisterField SourceId = new(16, 16);

        /// <summary>DID: domain id for domain-selective invalidation.</summary>
        public static readonly RegisterField DomainId = new(0, 16);
    }

    /// <summary>IOTLB_REG fields (at <c>ECAP_REG.IRO * 16 + 8</c>).</summary>
    public static class IotlbInvalidate
    {
        /// <summary>IVT: invalidate IOTLB (set by software, cleared by hardware when done).</summary>
        public static readonly RegisterField Invalidate = new(63, 1);

        /// <summary>IIRG: requested granularity, 01b global, 10b domain, 11b page (with IVA_REG).</summary>
        public static readonly RegisterField RequestGranularity = new(60, 2);

        /// <summary>IAIG: granularity actually performed (RO).</summary>
        public static readonly RegisterField ActualGranularity = new(57, 2);

        /// <summary>DR: drain reads.</summary>
        public static readonly RegisterField DrainReads = new(49, 1);

        /// <summary>DW: drain writes.</summary>
        public static readonly RegisterField DrainWrites = new(48, 1);

        /// <summary>DID: domain id.</summary>
        public static readonly RegisterField DomainId = new(32, 16);
    }

    /// <summary>IVA_REG fields (at <c>ECAP_REG.IRO * 16</c>) and the second word of IOTLB descriptors.</summary>
    public static class InvalidateAddress
    {
        /// <summary>ADDR: first page to invalidate (4 KiB aligned, and aligned to 2^AM pages).</summary>
        public static readonly RegisterField Address = new(12, 52);

        /// <summary>IH: invalidation hint (leaf entries only changed; the model drops paging-structure caches anyway).</summary>
        public static readonly RegisterField InvalidationHint = new(6, 1);

        /// <summary>AM: address mask, 2^AM pages from ADDR.</summary>
        public static readonly RegisterField AddressMask = new(0, 6);
    }

    /// <summary>FSTS_REG fields.</summary>
    public static class FaultStatus
    {
        /// <summary>FRI: index of the next fault recording register hardware writes (RO).</summary>
        public static readonly RegisterField FaultRecordIndex = new(8, 8);

        /// <summary>ITE: invalidation time-out error (write 1 to clear).</summary>
        public static readonly RegisterField InvalidationTimeoutError = new(6, 1);

        /// <summary>ICE: invalidation completion error (write 1 to clear).</summary>
        public static readonly RegisterField InvalidationCompletionError = new(5, 1);

        /// <summary>IQE: invalidation queue error (write 1 to clear; the queue resumes).</summary>
        public static readonly RegisterField InvalidationQueueError = new(4, 1);

        /// <summary>PPF: primary pending fault, the OR of every FRCD F bit (RO).</summary>
        public static readonly RegisterField PrimaryPendingFault = new(1, 1);

        /// <summary>PFO: primary fault overflow (write 1 to clear); while set no fault is recorded.</summary>
        public static readonly RegisterField PrimaryFaultOverflow = new(0, 1);
    }

    /// <summary>FECTL_REG and IECTL_REG fields.</summary>
    public static class EventControl
    {
        /// <summary>IM: interrupt mask (set at reset).</summary>
        public static readonly RegisterField InterruptMask = new(31, 1);

        /// <summary>IP: interrupt pending (RO): an event arrived while masked.</summary>
        public static readonly RegisterField InterruptPending = new(30, 1);
    }

    /// <summary>Fault recording register fields: the high 64 bits (offset + 8) of each 128-bit FRCD_REG.
    /// The low 64 bits hold FI, the faulting page address, in bits 63:12.</summary>
    public static class FaultRecord
    {
        /// <summary>F: a fault is recorded here (write 1 to clear).</summary>
        public static readonly RegisterField Fault = new(63, 1);

        /// <summary>T1: 1 for a read (or atomic) request, 0 for a write.</summary>
        public static readonly RegisterField TypeRead = new(62, 1);

        /// <summary>AT: address type of the request.</summary>
        public static readonly RegisterField AddressType = new(60, 2);

        /// <summary>PV: PASID value, valid when PP is set.</summary>
        public static readonly RegisterField PasidValue = new(40, 20);

        /// <summary>FR: fault reason.</summary>
        public static readonly RegisterField FaultReason = new(32, 8);

        /// <summary>PP: the request carried a PASID.</summary>
        public static readonly RegisterField PasidPresent = new(31, 1);

        /// <summary>SID: requester id of the faulting request.</summary>
        public static readonly RegisterField SourceId = new(0, 16);

        /// <summary>FI in the low 64 bits: the page address of the faulting request.</summary>
        public static readonly RegisterField FaultInfo = new(12, 52);
    }

    /// <summary>IQA_REG fields.</summary>
    public static class InvalidationQueueAddress
    {
        /// <summary>IQA: queue base address (4 KiB aligned).</summary>
        public static readonly RegisterField Address = new(12, 52);

        /// <summary>DW: descriptor width, 0 for 128-bit, 1 for 256-bit descriptors.</summary>
        public static readonly RegisterField DescriptorWidth = new(11, 1);

        /// <summary>QS: queue size, 2^QS 4 KiB pages.</summary>
        public static readonly RegisterField QueueSize = new(0, 3);
    }

    /// <summary>IQH_REG and IQT_REG field: the byte offset of the head or tail descriptor.</summary>
    public static readonly RegisterField QueueOffset = new(4, 15);

    /// <summary>IQERCD_REG field IQEI: why the queue stopped (<see cref="InvalidationQueueError"/>).</summary>
    public static readonly RegisterField QueueErrorInfo = new(0, 4);

    /// <summary>IQERCD_REG field ITESID (bits 47:32): the source id of the function whose device-TLB invalidation timed out.</summary>
    public static readonly RegisterField InvalidationTimeoutSourceId = new(32, 16);
}
