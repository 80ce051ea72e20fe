namespace Siov.Fast.Remapping;

/// <summary>
/// The Extended Capability Register (ECAP_REG, offset 10h) of a VT-d remapping unit, decoded
/// into its fields (VT-d spec section 11.4.3). <see cref="Decode"/> and <see cref="Encode"/>
/// round-trip every 64-bit image: bits the spec leaves reserved are kept in <see cref="OtherBits"/>.
/// </summary>
/// <remarks>
/// Layout: C 0, QI 1, DT 2, IR 3, EIM 4, PT 6, SC 7, IRO 17:8, MHMV 23:20, MTS 25, NEST 26,
/// PRS 29, ERS 30, SRS 31, NWFS 33, EAFS 34, PSS 39:35, PASID 40, DIT 41, PDS 42, SMTS 43,
/// VCS 44, SLADS 45, SLTS 46, FLTS 47, SMPWCS 48, RPS 49, ADMS 52, RPRIVS 53.
/// </remarks>
public readonly record struct ExtendedCapabilityRegister
{
    private const ulong ModelledBits =
        1UL << 0 | 1UL << 1 | 1UL << 2 | 1UL << 3 | 1UL << 4 | 1UL << 6 | 1UL << 7 | 0x3FFUL << 8 | 0xFUL << 20
        | 1UL << 25 | 1UL << 26 | 1UL << 29 | 1UL << 30 | 1UL << 31 | 1UL << 33 | 1UL << 34 | 0x1FUL << 35
        | 1UL << 40 | 1UL << 41 | 1UL << 42 | 1UL << 43 | 1UL << 44 | 1UL << 45 | 1UL << 46 | 1UL << 47
        | 1UL << 48 | 1UL << 49 | 1UL << 52 | 1UL << 53;

    /// <summary>C (bit 0): page-walk coherency.</summary>
    public bool PageWalkCoherency { get; init; }

    /// <summary>QI (bit 1): queued invalidation.</summary>
    public bool QueuedInvalidation { get; init; }

    /// <summary>DT (bit 2): device-TLBs (ATS) supported.</summary>
    public bool DeviceTlb { get; init; }

    /// <summary>IR (bit 3): interrupt remapping.</summary>
    public bool InterruptRemapping { get; init; }

    /// <summary>EIM (bit 4): extended interrupt mode (x2APIC).</summary>
    public bool ExtendedInterruptMode { get; init; }

    /// <summary>PT (bit 6): pass-through translation type.</summary>
    public bool PassThrough { get; init; }

    /// <summary>SC (bit 7): snoop control.</summary>
    public bool SnoopControl { get; init; }

    /// <summary>IRO (bits 17:8): IOTLB register offset, in 16-byte units.</summary>
    public int IotlbRegisterOffset { get; init; }

    /// <summary>MHMV (bits 23:20): maximum handle mask value for interrupt-entry-cache invalidation.</summary>
    public int MaximumHandleMaskValue { get; init; }

    /// <summary>MTS (bit 25): memory type support.</summary>
    public bool MemoryTypeSupport { get; init; }

    /// <summary>NEST (bit 26): nested translation.</summary>
    public bool NestedTranslation { get; init; }

    /// <summary>PRS (bit 29): page requests.</summary>
    public bool PageRequest { get; init; }

    /// <summary>ERS (bit 30): execute requests.</summary>
    public bool ExecuteRequest { get; init; }

    /// <summary>SRS (bit 31): supervisor requests.</summary>
    public bool SupervisorRequest { get; init; }

    /// <summary>NWFS (bit 33): no write flag.</summary>
    public bool NoWriteFlag { get; init; }

    /// <summary>EAFS (bit 34): extended accessed flag.</summary>
    public bool ExtendedAccessedFlag { get; init; }

    /// <summary>PSS (bits 39:35 hold the PASID width - 1): PASID width in bits, 1 to 32 (20 on real units).</summary>
    public int PasidWidth { get; init; }

    /// <summary>PASID (bit 40): process address space ids supported.</summary>
    public bool Pasid { get; init; }

    /// <summary>DIT (bit 41): device-TLB invalidation throttling.</summary>
    public bool DeviceTlbInvalidationThrottling { get; init; }

    /// <summary>PDS (bit 42): page-request drain.</summary>
    public bool PageRequestDrain { get; init; }

    /// <summary>SMTS (bit 43): scalable-mode translation (root table with TTM = 01b, PASID tables).</summary>
    public bool ScalableMode { get; init; }

    /// <summary>VCS (bit 44): virtual command support.</summary>
    public bool VirtualCommand { get; init; }

    /// <summary>SLADS (bit 45): second-level accessed/dirty support.</summary>
    public bool SecondLevelAccessedDirty { get; init; }

    /// <summary>SLTS (bit 46): second-level translation in scalable mode (PGTT = 010b).</summary>
    public bool SecondLevelTranslation { get; init; }

    /// <summary>FLTS (bit 47): first-level translation in scalable mode (PGTT = 001b).</summary>
    public bool FirstLevelTranslation { get; init; }

    /// <summary>SMPWCS (bit 48): scalable-mode page-walk coherency.</summary>
    public bool ScalableModePageWalkCoherency { get; init; }

    /// <summary>RPS (bit 49): RID_PASID field of scalable-mode context entries is honoured (else RID_PASID is 0).</summary>
    public bool RidPasid { get; init; }

    /// <summary>ADMS (bit 52): abort DMA mode.</summary>
    public bool AbortDmaMode { get; init; }

    /// <summary>RPRIVS (bit 53): RID_PRIV support.</summary>
    public bool RidPriv { get; init; }

    /// <summary>Bits of the image that the spec reserves; kept so that encode(decode(x)) == x.</summary>
    public ulong OtherBits { get; init; }

    /// <summary>Decodes an ECAP_REG image.</summary>
    /// <param name="value">The 64-bit register value.</param>
    /// <returns>The fields.</returns>
    public static ExtendedCapabilityRegister Decode(ulong value) => new()
    {
        PageWalkCoherency = Bits.Flag(value, 0),
        QueuedInvalidation = Bits.Flag(value, 1),
        DeviceTlb = Bits.Flag(value, 2),
        InterruptRemapping = Bits.Flag(value, 3),
        ExtendedInterruptMode = Bits.Flag(value, 4),
        PassThrough = Bits.Flag(value, 6),
        SnoopControl = Bits.Flag(value, 7),
        IotlbRegisterOffset = (int)Bits.Get(value, 8, 10),
        MaximumHandleMaskValue = (int)Bits.Get(value, 20, 4),
        MemoryTypeSupport = Bits.Flag(value, 25),
        NestedTranslation = Bits.Flag(value, 26),
        PageRequest = Bits.Flag(value, 29),
        ExecuteRequest = Bits.Flag(value, 30),
        SupervisorRequest = Bits.Flag(value, 31),
        NoWriteFlag = Bits.Flag(value, 33),
        ExtendedAccessedFlag = Bits.Flag(value, 34),
        PasidWidth = (int)Bits.Get(value, 35, 5) + 1,
        Pasid = Bits.Flag(value, 40),
        DeviceTlbInvalidationThrottling = Bits.Flag(value, 41),
        PageRequestDrain = Bits.Flag(value, 42),
        ScalableMode = Bits.Flag(value, 43),
        VirtualCommand = Bits.Flag(value, 44),
        SecondLevelAccessedDirty = Bits.Flag(value, 45),
        SecondLevelTranslation = Bits.Flag(value, 46),
        FirstLevelTranslation = Bits.Flag(value, 47),
        ScalableModePageWalkCoherency = Bits.Flag(value, 48),
        RidPasid = Bits.Flag(value, 49),
        AbortDmaMode = Bits.Flag(value, 52),
        RidPriv = Bits.Flag(value, 53),
        OtherBits = value & ~ModelledBits,
    };

    /// <summary>Encodes the fields into an ECAP_REG image.</summary>
    /// <returns>The 64-bit register value.</returns>
    /// <exception cref="IommuException">EINVAL naming the field that does not fit its bits, or
    /// <see cref="OtherBits"/> overlapping a modelled field.</exception>
    public ulong Encode()
    {
        if ((OtherBits & ModelledBits) != 0)
            Throw.Iommu(Errno.EINVAL, $"ECAP_REG OtherBits {Throw.Hex(OtherBits)} overlap defined fields");
        return Bits.Put(PageWalkCoherency, 0)
            | Bits.Put(QueuedInvalidation, 1)
            | Bits.Put(DeviceTlb, 2)
            | Bits.Put(InterruptRemapping, 3)
            | Bits.Put(ExtendedInterruptMode, 4)
            | Bits.Put(PassThrough, 6)
            | Bits.Put(SnoopControl, 7)
            | Bits.Put("ECAP_REG.IRO", IotlbRegisterOffset, 8, 10)
            | Bits.Put("ECAP_REG.MHMV", MaximumHandleMaskValue, 20, 4)
            | Bits.Put(MemoryTypeSupport, 25)
            | Bits.Put(NestedTranslation, 26)
            | Bits.Put(PageRequest, 29)
            | Bits.Put(ExecuteRequest, 30)
            | Bits.Put(SupervisorRequest, 31)
            | Bits.Put(NoWriteFlag, 33)
            | Bits.Put(ExtendedAccessedFlag, 34)
            | Bits.Put("ECAP_REG.PSS", PasidWidth - 1, 35, 5)
            | Bits.Put(Pasid, 40)
            | Bits.Put(DeviceTlbInvalidationThrottling, 41)
            | Bits.Put(PageRequestDrain, 42)
            | Bits.Put(ScalableMode, 43)
            | Bits.Put(VirtualCommand, 44)
            | Bits.Put(SecondLevelAccessedDirty, 45)
            | Bits.Put(SecondLevelTranslation, 46)
            | Bits.Put(FirstLevelTranslation, 47)
            | Bits.Put(ScalableModePageWalkCoherency, 48)
            | Bits.Put(RidPasid, 49)
            | Bits.Put(AbortDmaMode, 52)
            | Bits.Put(RidPriv, 53)
            | OtherBits;
    }
}

/// <summary>Bit-field helpers for register and table-entry images.</summary>
internal static class Bits
{
    public static ulong Get(ulong value, int low, int width) => (value >> low) & ((1UL << width) - 1);

    public static bool Flag(ulong value, int bit) => ((value >> bit) & 1) != 0;

    public static ulong Put(bool flag, int bit) => flag ? 1UL << bit : 0;

    public static ulong Put(string field, long value, int low, int width)
    {
        if (value < 0 || (ulong)value >= 1UL << width)
            Throw.Iommu(Errno.EINVAL, $"{field} value {value} does not fit in {width} bits");
        return (ulong)value << low;
    }
}
