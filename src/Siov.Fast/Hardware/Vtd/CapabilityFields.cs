namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// The fields of the Capability Register (CAP_REG, offset 08h, read-only; VT-d specification section
/// 11.4.2), each defined once as bit position and width and used by
/// <see cref="CapabilityRegister.Decode"/>, <see cref="CapabilityRegister.Encode"/>
/// and the register's docs. Bits in no field (15:13, 23, 38, 57, 58, 61) are reserved.
/// </summary>
public static class CapabilityFields
{
    /// <summary>ND, bits 2:0: number of domain ids supported is 2^(4 + 2 * ND); 0 to 6.</summary>
    public static readonly RegisterField NumberOfDomains = new(0, 3);

    /// <summary>AFL, bit 3: advanced fault logging.</summary>
    public static readonly RegisterField AdvancedFaultLogging = new(3, 1);

    /// <summary>RWBF, bit 4: software must flush the write buffer.</summary>
    public static readonly RegisterField RequiredWriteBufferFlushing = new(4, 1);

    /// <summary>PLMR, bit 5: protected low-memory region.</summary>
    public static readonly RegisterField ProtectedLowMemoryRegion = new(5, 1);

    /// <summary>PHMR, bit 6: protected high-memory region.</summary>
    public static readonly RegisterField ProtectedHighMemoryRegion = new(6, 1);

    /// <summary>CM, bit 7: caching mode (not-present entries may be cached; a virtual IOMMU sets it).</summary>
    public static readonly RegisterField CachingMode = new(7, 1);

    /// <summary>SAGAW, bits 12:8: supported adjusted guest address widths; bit 1 = 39-bit (3-level),
    /// bit 2 = 48-bit (4-level), bit 3 = 57-bit (5-level) second-level tables.</summary>
    public static readonly RegisterField SupportedAdjustedGuestAddressWidths = new(8, 5);

    /// <summary>MGAW, bits 21:16: maximum guest address width minus 1.</summary>
    public static readonly RegisterField MaximumGuestAddressWidth = new(16, 6);

    /// <summary>ZLR, bit 22: zero-length reads.</summary>
    public static readonly RegisterField ZeroLengthRead = new(22, 1);

    /// <summary>FRO, bits 33:24: fault-recording register offset, in 16-byte units from the register base.</summary>
    public static readonly RegisterField FaultRecordingRegisterOffset = new(24, 10);

    /// <summary>SLLPS, bits 37:34: second-level large-page support; bit 0 = 2 MiB, bit 1 = 1 GiB.</summary>
    public static readonly RegisterField SecondLevelLargePageSupport = new(34, 4);

    /// <summary>PSI, bit 39: page-selective IOTLB invalidation.</summary>
    public static readonly RegisterField PageSelectiveInvalidation = new(39, 1);

    /// <summary>NFR, bits 47:40: number of fault-recording registers minus 1.</summary>
    public static readonly RegisterField NumberOfFaultRecordingRegisters = new(40, 8);

    /// <summary>MAMV, bits 53:48: maximum address mask value of a page-selective invalidation (2^MAMV pages).</summary>
    public static readonly RegisterField MaximumAddressMaskValue = new(48, 6);

    /// <summary>DWD, bit 54: DMA write draining.</summary>
    public static readonly RegisterField DmaWriteDraining = new(54, 1);

    /// <summary>DRD, bit 55: DMA read draining.</summary>
    public static readonly RegisterField DmaReadDraining = new(55, 1);

    /// <summary>FL1GP, bit 56: first-level 1 GiB pages.</summary>
    public static readonly RegisterField FirstLevel1GPages = new(56, 1);

    /// <summary>PI, bit 59: posted interrupts.</summary>
    public static readonly RegisterField PostedInterrupts = new(59, 1);

    /// <summary>FL5LP, bit 60: first-level 5-level paging.</summary>
    public static readonly RegisterField FirstLevel5LevelPaging = new(60, 1);

    /// <summary>ESIRTPS, bit 62: interrupt-remapping table pointer set invalidates the interrupt entry cache.</summary>
    public static readonly RegisterField EnhancedSetInterruptRemapTablePointer = new(62, 1);

    /// <summary>ESRTPS, bit 63: root-table pointer set invalidates all caches.</summary>
    public static readonly RegisterField EnhancedSetRootTablePointer = new(63, 1);

    /// <summary>Every field above with its name in the specification, lowest bit first.</summary>
    public static IReadOnlyList<(string Name, RegisterField Field)> All { get; } =
    [
        ("ND", NumberOfDomains),
        ("AFL", AdvancedFaultLogging),
        ("RWBF", RequiredWriteBufferFlushing),
        ("PLMR", ProtectedLowMemoryRegion),
        ("PHMR", ProtectedHighMemoryRegion),
        ("CM", CachingMode),
        ("SAGAW", SupportedAdjustedGuestAddressWidths),
        ("MGAW", MaximumGuestAddressWidth),
        ("ZLR", ZeroLengthRead),
        ("FRO", FaultRecordingRegisterOffset),
        ("SLLPS", SecondLevelLargePageSupport),
        ("PSI", PageSelectiveInvalidation),
        ("NFR", NumberOfFaultRecordingRegisters),
        ("MAMV", MaximumAddressMaskValue),
        ("DWD", DmaWriteDraining),
        ("DRD", DmaReadDraining),
        ("FL1GP", FirstLevel1GPages),
        ("PI", PostedInterrupts),
        ("FL5LP", FirstLevel5LevelPaging),
        ("ESIRTPS", EnhancedSetInterruptRemapTablePointer),
        ("ESRTPS", EnhancedSetRootTablePointer),
    ];

    /// <summary>The union of every field's bits; the rest of the register is reserved.</summary>
    public static ulong DefinedBits { get; } = All.Aggregate(0UL, (bits, f) => bits | f.Field.Mask);
}
