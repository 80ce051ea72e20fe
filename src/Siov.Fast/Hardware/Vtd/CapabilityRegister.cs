using Siov.Fast.PageTables;

namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// The Capability Register (CAP_REG, offset 08h) of a VT-d remapping unit, decoded into its
/// fields (VT-d spec section 11.4.2). <see cref="Decode"/> and <see cref="Encode"/> round-trip
/// every 64-bit image: bits the spec leaves reserved are kept in <see cref="OtherBits"/>.
/// </summary>
/// <remarks>
/// Each field's bits are defined once, in <see cref="CapabilityFields"/>. Linux prints the image at boot as
/// <c>DMAR: dmar0: reg_base_addr ... cap 19ed008c40780c66 ecap ...</c>.
/// </remarks>
public readonly record struct CapabilityRegister
{
    /// <summary>ND (<see cref="CapabilityFields.NumberOfDomains"/>): number of domain ids supported is 2^(4 + 2 * ND); 0 to 6.</summary>
    public int NumberOfDomainsField { get; init; }

    /// <summary>AFL (<see cref="CapabilityFields.AdvancedFaultLogging"/>): advanced fault logging.</summary>
    public bool AdvancedFaultLogging { get; init; }

    /// <summary>RWBF (<see cref="CapabilityFields.RequiredWriteBufferFlushing"/>): software must flush the write buffer.</summary>
    public bool RequiredWriteBufferFlushing { get; init; }

    /// <summary>PLMR (<see cref="CapabilityFields.ProtectedLowMemoryRegion"/>): protected low-memory region.</summary>
    public bool ProtectedLowMemoryRegion { get; init; }

    /// <summary>PHMR (<see cref="CapabilityFields.ProtectedHighMemoryRegion"/>): protected high-memory region.</summary>
    public bool ProtectedHighMemoryRegion { get; init; }

    /// <summary>CM (<see cref="CapabilityFields.CachingMode"/>): caching mode (not-present entries may be cached; a virtual IOMMU sets it). Domain id 0 is then reserved.</summary>
    public bool CachingMode { get; init; }

    /// <summary>SAGAW (<see cref="CapabilityFields.SupportedAdjustedGuestAddressWidths"/>): supported adjusted guest address widths; bit 1 = 39-bit (3-level),
    /// bit 2 = 48-bit (4-level), bit 3 = 57-bit (5-level) second-level tables.</summary>
    public int SupportedAdjustedGuestAddressWidths { get; init; }

    /// <summary>MGAW (<see cref="CapabilityFields.MaximumGuestAddressWidth"/>, holding MGAW - 1): maximum guest address width in bits, 1 to 64.</summary>
    public int MaximumGuestAddressWidth { get; init; }

    /// <summary>ZLR (<see cref="CapabilityFields.ZeroLengthRead"/>): zero-length reads.</summary>
    public bool ZeroLengthRead { get; init; }

    /// <summary>FRO (<see cref="CapabilityFields.FaultRecordingRegisterOffset"/>): fault-recording register offset, in 16-byte units from the register base.</summary>
    public int FaultRecordingRegisterOffset { get; init; }

    /// <summary>SLLPS (<see cref="CapabilityFields.SecondLevelLargePageSupport"/>): second-level large-page support; bit 0 = 2 MiB, bit 1 = 1 GiB.</summary>
    public int SecondLevelLargePageSupport { get; init; }

    /// <summary>PSI (<see cref="CapabilityFields.PageSelectiveInvalidation"/>): page-selective IOTLB invalidation.</summary>
    public bool PageSelectiveInvalidation { get; init; }

    /// <summary>NFR (<see cref="CapabilityFields.NumberOfFaultRecordingRegisters"/>, holding NFR - 1): number of fault-recording registers, 1 to 256.</summary>
    public int NumberOfFaultRecordingRegisters { get; init; }

    /// <summary>MAMV (<see cref="CapabilityFields.MaximumAddressMaskValue"/>): maximum address mask value of a page-selective invalidation (2^MAMV pages).</summary>
    public int MaximumAddressMaskValue { get; init; }

    /// <summary>DWD (<see cref="CapabilityFields.DmaWriteDraining"/>): DMA write draining.</summary>
    public bool DmaWriteDraining { get; init; }

    /// <summary>DRD (<see cref="CapabilityFields.DmaReadDraining"/>): DMA read draining.</summary>
    public bool DmaReadDraining { get; init; }

    /// <summary>FL1GP (<see cref="CapabilityFields.FirstLevel1GPages"/>): first-level 1 GiB pages.</summary>
    public bool FirstLevel1GPages { get; init; }

    /// <summary>PI (<see cref="CapabilityFields.PostedInterrupts"/>): posted interrupts.</summary>
    public bool PostedInterrupts { get; init; }

    /// <summary>FL5LP (<see cref="CapabilityFields.FirstLevel5LevelPaging"/>): first-level 5-level paging.</summary>
    public bool FirstLevel5LevelPaging { get; init; }

    /// <summary>ESIRTPS (<see cref="CapabilityFields.EnhancedSetInterruptRemapTablePointer"/>): interrupt-remapping table pointer set invalidates the interrupt entry cache.</summary>
    public bool EnhancedSetInterruptRemapTablePointer { get; init; }

    /// <summary>ESRTPS (<see cref="CapabilityFields.EnhancedSetRootTablePointer"/>): root-table pointer set invalidates all caches.</summary>
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
        NumberOfDomainsField = Bits.Int(value, CapabilityFields.NumberOfDomains),
        AdvancedFaultLogging = CapabilityFields.AdvancedFaultLogging.IsSet(value),
        RequiredWriteBufferFlushing = CapabilityFields.RequiredWriteBufferFlushing.IsSet(value),
        ProtectedLowMemoryRegion = CapabilityFields.ProtectedLowMemoryRegion.IsSet(value),
        ProtectedHighMemoryRegion = CapabilityFields.ProtectedHighMemoryRegion.IsSet(value),
        CachingMode = CapabilityFields.CachingMode.IsSet(value),
        SupportedAdjustedGuestAddressWidths = Bits.Int(value, CapabilityFields.SupportedAdjustedGuestAddressWidths),
        MaximumGuestAddressWidth = Bits.Int(value, CapabilityFields.MaximumGuestAddressWidth) + 1,
        ZeroLengthRead = CapabilityFields.ZeroLengthRead.IsSet(value),
        FaultRecordingRegisterOffset = Bits.Int(value, CapabilityFields.FaultRecordingRegisterOffset),
        SecondLevelLargePageSupport = Bits.Int(value, CapabilityFields.SecondLevelLargePageSupport),
        PageSelectiveInvalidation = CapabilityFields.PageSelectiveInvalidation.IsSet(value),
        NumberOfFaultRecordingRegisters = Bits.Int(value, CapabilityFields.NumberOfFaultRecordingRegisters) + 1,
        MaximumAddressMaskValue = Bits.Int(value, CapabilityFields.MaximumAddressMaskValue),
        DmaWriteDraining = CapabilityFields.DmaWriteDraining.IsSet(value),
        DmaReadDraining = CapabilityFields.DmaReadDraining.IsSet(value),
        FirstLevel1GPages = CapabilityFields.FirstLevel1GPages.IsSet(value),
        PostedInterrupts = CapabilityFields.PostedInterrupts.IsSet(value),
        FirstLevel5LevelPaging = CapabilityFields.FirstLevel5LevelPaging.IsSet(value),
        EnhancedSetInterruptRemapTablePointer = CapabilityFields.EnhancedSetInterruptRemapTablePointer.IsSet(value),
        EnhancedSetRootTablePointer = CapabilityFields.EnhancedSetRootTablePointer.IsSet(value),
        OtherBits = value & ~CapabilityFields.DefinedBits,
    };

    /// <summary>Encodes the fields into a CAP_REG image.</summary>
    /// <returns>The 64-bit register value.</returns>
    /// <exception cref="IommuException">EINVAL naming the field that does not fit its bits, or
    /// <see cref="OtherBits"/> overlapping a modelled field.</exception>
    public ulong Encode()
    {
        if ((OtherBits & CapabilityFields.DefinedBits) != 0)
            Throw.Iommu(Errno.EINVAL, $"CAP_REG OtherBits {Throw.Hex(OtherBits)} overlap defined fields");
        return Bits.Put("CAP_REG.ND", NumberOfDomainsField, CapabilityFields.NumberOfDomains)
            | Bits.Put(AdvancedFaultLogging, CapabilityFields.AdvancedFaultLogging)
            | Bits.Put(RequiredWriteBufferFlushing, CapabilityFields.RequiredWriteBufferFlushing)
            | Bits.Put(ProtectedLowMemoryRegion, CapabilityFields.ProtectedLowMemoryRegion)
            | Bits.Put(ProtectedHighMemoryRegion, CapabilityFields.ProtectedHighMemoryRegion)
            | Bits.Put(CachingMode, CapabilityFields.CachingMode)
            | Bits.Put("CAP_REG.SAGAW", SupportedAdjustedGuestAddressWidths, CapabilityFields.SupportedAdjustedGuestAddressWidths)
            | Bits.Put("CAP_REG.MGAW", MaximumGuestAddressWidth - 1, CapabilityFields.MaximumGuestAddressWidth)
            | Bits.Put(ZeroLengthRead, CapabilityFields.ZeroLengthRead)
            | Bits.Put("CAP_REG.FRO", FaultRecordingRegisterOffset, CapabilityFields.FaultRecordingRegisterOffset)
            | Bits.Put("CAP_REG.SLLPS", SecondLevelLargePageSupport, CapabilityFields.SecondLevelLargePageSupport)
            | Bits.Put(PageSelectiveInvalidation, CapabilityFields.PageSelectiveInvalidation)
            | Bits.Put("CAP_REG.NFR", NumberOfFaultRecordingRegisters - 1, CapabilityFields.NumberOfFaultRecordingRegisters)
            | Bits.Put("CAP_REG.MAMV", MaximumAddressMaskValue, CapabilityFields.MaximumAddressMaskValue)
            | Bits.Put(DmaWriteDraining, CapabilityFields.DmaWriteDraining)
            | Bits.Put(DmaReadDraining, CapabilityFields.DmaReadDraining)
            | Bits.Put(FirstLevel1GPages, CapabilityFields.FirstLevel1GPages)
            | Bits.Put(PostedInterrupts, CapabilityFields.PostedInterrupts)
            | Bits.Put(FirstLevel5LevelPaging, CapabilityFields.FirstLevel5LevelPaging)
            | Bits.Put(EnhancedSetInterruptRemapTablePointer, CapabilityFields.EnhancedSetInterruptRemapTablePointer)
            | Bits.Put(EnhancedSetRootTablePointer, CapabilityFields.EnhancedSetRootTablePointer)
            | OtherBits;
    }
}
