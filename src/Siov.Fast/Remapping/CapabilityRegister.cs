using Siov.Fast.PageTables;

namespace Siov.Fast.Remapping;

/// <summary>
/// The Capability Register (CAP_REG, offset 08h) of a VT-d remapping unit, decoded into its
/// fields (VT-d spec section 11.4.2). <see cref="Decode"/> and <see cref="Encode"/> round-trip
/// every 64-bit image: bits the spec leaves reserved are kept in <see cref="OtherBits"/>.
/// </summary>
/// <remarks>
/// Layout: ND 2:0, AFL 3, RWBF 4, PLMR 5, PHMR 6, CM 7, SAGAW 12:8, MGAW 21:16, ZLR 22,
/// FRO 33:24, SLLPS 37:34, PSI 39, NFR 47:40, MAMV 53:48, DWD 54, DRD 55, FL1GP 56, PI 59,
/// FL5LP 60, ESIRTPS 62, ESRTPS 63. Linux prints the image at boot as
/// <c>DMAR: dmar0: reg_base_addr ... cap 19ed008c40780c66 ecap ...</c>.
/// </remarks>
public readonly record struct CapabilityRegister
{
    private const ulong ModelledBits =
        0x7UL | 1UL << 3 | 1UL << 4 | 1UL << 5 | 1UL << 6 | 1UL << 7 | 0x1FUL << 8 | 0x3FUL << 16 | 1UL << 22
        | 0x3FFUL << 24 | 0xFUL << 34 | 1UL << 39 | 0xFFUL << 40 | 0x3FUL << 48 | 1UL << 54 | 1UL << 55
        | 1UL << 56 | 1UL << 59 | 1UL << 60 | 1UL << 62 | 1UL << 63;

    /// <summary>ND (bits 2:0): number of domain ids supported is 2^(4 + 2 * ND); 0 to 6.</summary>
    public int NumberOfDomainsField { get; init; }

    /// <summary>AFL (bit 3): advanced fault logging.</summary>
    public bool AdvancedFaultLogging { get; init; }

    /// <summary>RWBF (bit 4): software must flush the write buffer.</summary>
    public bool RequiredWriteBufferFlushing { get; init; }

    /// <summary>PLMR (bit 5): protected low-memory region.</summary>
    public bool ProtectedLowMemoryRegion { get; init; }

    /// <summary>PHMR (bit 6): protected high-memory region.</summary>
    public bool ProtectedHighMemoryRegion { get; init; }

    /// <summary>CM (bit 7): caching mode (not-present entries may be cached; a virtual IOMMU sets it). Domain id 0 is then reserved.</summary>
    public bool CachingMode { get; init; }

    /// <summary>SAGAW (bits 12:8): supported adjusted guest address widths; bit 1 = 39-bit (3-level),
    /// bit 2 = 48-bit (4-level), bit 3 = 57-bit (5-level) second-level tables.</summary>
    public int SupportedAdjustedGuestAddressWidths { get; init; }

    /// <summary>MGAW (bits 21:16 hold MGAW - 1): maximum guest address width in bits, 1 to 64.</summary>
    public int MaximumGuestAddressWidth { get; init; }

    /// <summary>ZLR (bit 22): zero-length reads.</summary>
    public bool ZeroLengthRead { get; init; }

    /// <summary>FRO (bits 33:24): fault-recording register offset, in 16-byte units from the register base.</summary>
    public int FaultRecordingRegisterOffset { get; init; }

    /// <summary>SLLPS (bits 37:34): second-level large-page support; bit 0 = 2 MiB, bit 1 = 1 GiB.</summary>
    public int SecondLevelLargePageSupport { get; init; }

    /// <summary>PSI (bit 39): page-selective IOTLB invalidation.</summary>
    public bool PageSelectiveInvalidation { get; init; }

    /// <summary>NFR (bits 47:40 hold NFR - 1): number of fault-recording registers, 1 to 256.</summary>
    public int NumberOfFaultRecordingRegisters { get; init; }

    /// <summary>MAMV (bits 53:48): maximum address mask value of a page-selective invalidation (2^MAMV pages).</summary>
    public int MaximumAddressMaskValue { get; init; }

    /// <summary>DWD (bit 54): DMA write draining.</summary>
    public bool DmaWriteDraining { get; init; }

    /// <summary>DRD (bit 55): DMA read draining.</summary>
    public bool DmaReadDraining { get; init; }

    /// <summary>FL1GP (bit 56): first-level 1 GiB pages.</summary>
    public bool FirstLevel1GPages { get; init; }

    /// <summary>PI (bit 59): posted interrupts.</summary>
    public bool PostedInterrupts { get; init; }

    /// <summary>FL5LP (bit 60): first-level 5-level paging.</summary>
    public bool FirstLevel5LevelPaging { get; init; }

    /// <summary>ESIRTPS (bit 62): interrupt-remapping table pointer set invalidates the interrupt entry cache.</summary>
    public bool EnhancedSetInterruptRemapTablePointer { get; init; }

    /// <summary>ESRTPS (bit 63): root-table pointer set invalidates all caches.</summary>
    public bool EnhancedSetRootTablePointer { get; init; }

    /// <summary>Bits of the image that the spec reserves; kept so that encode(decode(x)) == x.</summary>
    public ulong OtherBits { get; init; }

    /// <summary>Number of domain ids the unit supports: 2^(4 + 2 * ND).</summary>
    public int NumberOfDomains => 1 << (4 + 2 * NumberOfDomainsField);

    /// <summary>Second-level leaf sizes the unit supports: 4 KiB always, plus 2 MiB and 1 GiB from SLLPS.</summary>
    public PageSizes SecondLevelPageSizes =>
        PageSizes.Size4K
        | ((SecondLevelLargePageSupport & 1) != 0 ? PageSizes.Size2M : 0)
        | ((SecondLevelLargePageSupport & 2) != 0 ? PageSizes.Size1G : 0);

    /// <summary>True when SAGAW allows second-level tables of <paramref name="levels"/> levels (3, 4 or 5).</summary>
    /// <param name="levels">Table levels.</param>
    /// <returns>Whether the SAGAW bit for that width is set.</returns>
    public bool SupportsLevels(int levels) =>
        levels is >= VtdPaging.MinLevels and <= VtdPaging.MaxLevels && (SupportedAdjustedGuestAddressWidths & (1 << (levels - 2))) != 0;

    /// <summary>Decodes a CAP_REG image.</summary>
    /// <param name="value">The 64-bit register value.</param>
    /// <returns>The fields.</returns>
    public static CapabilityRegister Decode(ulong value) => new()
    {
        NumberOfDomainsField = (int)Bits.Get(value, 0, 3),
        AdvancedFaultLogging = Bits.Flag(value, 3),
        RequiredWriteBufferFlushing = Bits.Flag(value, 4),
        ProtectedLowMemoryRegion = Bits.Flag(value, 5),
        ProtectedHighMemoryRegion = Bits.Flag(value, 6),
        CachingMode = Bits.Flag(value, 7),
        SupportedAdjustedGuestAddressWidths = (int)Bits.Get(value, 8, 5),
        MaximumGuestAddressWidth = (int)Bits.Get(value, 16, 6) + 1,
        ZeroLengthRead = Bits.Flag(value, 22),
        FaultRecordingRegisterOffset = (int)Bits.Get(value, 24, 10),
        SecondLevelLargePageSupport = (int)Bits.Get(value, 34, 4),
        PageSelectiveInvalidation = Bits.Flag(value, 39),
        NumberOfFaultRecordingRegisters = (int)Bits.Get(value, 40, 8) + 1,
        MaximumAddressMaskValue = (int)Bits.Get(value, 48, 6),
        DmaWriteDraining = Bits.Flag(value, 54),
        DmaReadDraining = Bits.Flag(value, 55),
        FirstLevel1GPages = Bits.Flag(value, 56),
        PostedInterrupts = Bits.Flag(value, 59),
        FirstLevel5LevelPaging = Bits.Flag(value, 60),
        EnhancedSetInterruptRemapTablePointer = Bits.Flag(value, 62),
        EnhancedSetRootTablePointer = Bits.Flag(value, 63),
        OtherBits = value & ~ModelledBits,
    };

    /// <summary>Encodes the fields into a CAP_REG image.</summary>
    /// <returns>The 64-bit register value.</returns>
    /// <exception cref="IommuException">EINVAL naming the field that does not fit its bits, or
    /// <see cref="OtherBits"/> overlapping a modelled field.</exception>
    public ulong Encode()
    {
        if ((OtherBits & ModelledBits) != 0)
            Throw.Iommu(Errno.EINVAL, $"CAP_REG OtherBits {Throw.Hex(OtherBits)} overlap defined fields");
        return Bits.Put("CAP_REG.ND", NumberOfDomainsField, 0, 3)
            | Bits.Put(AdvancedFaultLogging, 3)
            | Bits.Put(RequiredWriteBufferFlushing, 4)
            | Bits.Put(ProtectedLowMemoryRegion, 5)
            | Bits.Put(ProtectedHighMemoryRegion, 6)
            | Bits.Put(CachingMode, 7)
            | Bits.Put("CAP_REG.SAGAW", SupportedAdjustedGuestAddressWidths, 8, 5)
            | Bits.Put("CAP_REG.MGAW", MaximumGuestAddressWidth - 1, 16, 6)
            | Bits.Put(ZeroLengthRead, 22)
            | Bits.Put("CAP_REG.FRO", FaultRecordingRegisterOffset, 24, 10)
            | Bits.Put("CAP_REG.SLLPS", SecondLevelLargePageSupport, 34, 4)
            | Bits.Put(PageSelectiveInvalidation, 39)
            | Bits.Put("CAP_REG.NFR", NumberOfFaultRecordingRegisters - 1, 40, 8)
            | Bits.Put("CAP_REG.MAMV", MaximumAddressMaskValue, 48, 6)
            | Bits.Put(DmaWriteDraining, 54)
            | Bits.Put(DmaReadDraining, 55)
            | Bits.Put(FirstLevel1GPages, 56)
            | Bits.Put(PostedInterrupts, 59)
            | Bits.Put(FirstLevel5LevelPaging, 60)
            | Bits.Put(EnhancedSetInterruptRemapTablePointer, 62)
            | Bits.Put(EnhancedSetRootTablePointer, 63)
            | OtherBits;
    }
}
