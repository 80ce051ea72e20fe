namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// The fields of the Extended Capability Register (ECAP_REG, offset 10h, read-only; VT-d specification
/// section 11.4.3), each defined once as bit position and width and used by
/// <see cref="ExtendedCapabilityRegister.Decode"/>, <see cref="ExtendedCapabilityRegister.Encode"/>
/// and the register's docs. Bits in no field (5, 19:18, 24, 28:27, 32, 51:50, 63:54) are reserved or not modelled.
/// </summary>
public static class ExtendedCapabilityFields
{
    /// <summary>C, bit 0: page-walk coherency.</summary>
    public static readonly RegisterField PageWalkCoherency = new(0, 1);

    /// <summary>QI, bit 1: queued invalidation.</summary>
    public static readonly RegisterField QueuedInvalidation = new(1, 1);

    /// <summary>DT, bit 2: device-TLBs (ATS) supported.</summary>
    public static readonly RegisterField DeviceTlb = new(2, 1);

    /// <summary>IR, bit 3: interrupt remapping.</summary>
    public static readonly RegisterField InterruptRemapping = new(3, 1);

    /// <summary>EIM, bit 4: extended interrupt mode (x2APIC).</summary>
    public static readonly RegisterField ExtendedInterruptMode = new(4, 1);

    /// <summary>PT, bit 6: pass-through translation type.</summary>
    public static readonly RegisterField PassThrough = new(6, 1);

    /// <summary>SC, bit 7: snoop control.</summary>
    public static readonly RegisterField SnoopControl = new(7, 1);

    /// <summary>IRO, bits 17:8: IOTLB register offset, in 16-byte units.</summary>
    public static readonly RegisterField IotlbRegisterOffset = new(8, 10);

    /// <summary>MHMV, bits 23:20: maximum handle mask value for interrupt-entry-cache invalidation.</summary>
    public static readonly RegisterField MaximumHandleMaskValue = new(20, 4);

    /// <summary>MTS, bit 25: memory type support.</summary>
    public static readonly RegisterField MemoryTypeSupport = new(25, 1);

    /// <summary>NEST, bit 26: nested translation.</summary>
    public static readonly RegisterField NestedTranslation = new(26, 1);

    /// <summary>PRS, bit 29: page requests.</summary>
    public static readonly RegisterField PageRequest = new(29, 1);

    /// <summary>ERS, bit 30: execute requests.</summary>
    public static readonly RegisterField ExecuteRequest = new(30, 1);

    /// <summary>SRS, bit 31: supervisor requests.</summary>
    public static readonly RegisterField SupervisorRequest = new(31, 1);

    /// <summary>NWFS, bit 33: no write flag.</summary>
    public static readonly RegisterField NoWriteFlag = new(33, 1);

    /// <summary>EAFS, bit 34: extended accessed flag.</summary>
    public static readonly RegisterField ExtendedAccessedFlag = new(34, 1);

    /// <summary>PSS, bits 39:35: PASID width in bits minus 1.</summary>
    public static readonly RegisterField PasidSize = new(35, 5);

    /// <summary>PASID, bit 40: process address space ids supported.</summary>
    public static readonly RegisterField Pasid = new(40, 1);

    /// <summary>DIT, bit 41: device-TLB invalidation throttling.</summary>
    public static readonly RegisterField DeviceTlbInvalidationThrottling = new(41, 1);

    /// <summary>PDS, bit 42: page-request drain.</summary>
    public static readonly RegisterField PageRequestDrain = new(42, 1);

    /// <summary>SMTS, bit 43: scalable-mode translation (root table with TTM = 01b, PASID tables).</summary>
    public static readonly RegisterField ScalableMode = new(43, 1);

    /// <summary>VCS, bit 44: virtual command support.</summary>
    public static readonly RegisterField VirtualCommand = new(44, 1);

    /// <summary>SLADS, bit 45: second-level accessed/dirty support.</summary>
    public static readonly RegisterField SecondLevelAccessedDirty = new(45, 1);

    /// <summary>SLTS, bit 46: second-level translation in scalable mode (PGTT = 010b).</summary>
    public static readonly RegisterField SecondLevelTranslation = new(46, 1);

    /// <summary>FLTS, bit 47: first-level translation in scalable mode (PGTT = 001b).</summary>
    public static readonly RegisterField FirstLevelTranslation = new(47, 1);

    /// <summary>SMPWCS, bit 48: scalable-mode page-walk coherency.</summary>
    public static readonly RegisterField ScalableModePageWalkCoherency = new(48, 1);

    /// <summary>RPS, bit 49: RID_PASID field of scalable-mode context entries is honoured (else RID_PASID is 0).</summary>
    public static readonly RegisterField RidPasid = new(49, 1);

    /// <summary>ADMS, bit 52: abort DMA mode.</summary>
    public static readonly RegisterField AbortDmaMode = new(52, 1);

    /// <summary>RPRIVS, bit 53: RID_PRIV support.</summary>
    public static readonly RegisterField RidPriv = new(53, 1);

    /// <summary>Every field above with its name in the specification, lowest bit first.</summary>
    public static IReadOnlyList<(string Name, RegisterField Field)> All { get; } =
    [
        ("C", PageWalkCoherency),
        ("QI", QueuedInvalidation),
        ("DT", DeviceTlb),
        ("IR", InterruptRemapping),
        ("EIM", ExtendedInterruptMode),
        ("PT", PassThrough),
        ("SC", SnoopControl),
        ("IRO", IotlbRegisterOffset),
        ("MHMV", MaximumHandleMaskValue),
        ("MTS", MemoryTypeSupport),
        ("NEST", NestedTranslation),
        ("PRS", PageRequest),
        ("ERS", ExecuteRequest),
        ("SRS", SupervisorRequest),
        ("NWFS", NoWriteFlag),
        ("EAFS", ExtendedAccessedFlag),
        ("PSS", PasidSize),
        ("PASID", Pasid),
        ("DIT", DeviceTlbInvalidationThrottling),
        ("PDS", PageRequestDrain),
        ("SMTS", ScalableMode),
        ("VCS", VirtualCommand),
        ("SLADS", SecondLevelAccessedDirty),
        ("SLTS", SecondLevelTranslation),
        ("FLTS", FirstLevelTranslation),
        ("SMPWCS", ScalableModePageWalkCoherency),
        ("RPS", RidPasid),
        ("ADMS", AbortDmaMode),
        ("RPRIVS", RidPriv),
    ];

    /// <summary>The union of every field's bits; the rest of the register is reserved or not modelled.</summary>
    public static ulong DefinedBits { get; } = All.Aggregate(0UL, (bits, f) => bits | f.Field.Mask);
}
