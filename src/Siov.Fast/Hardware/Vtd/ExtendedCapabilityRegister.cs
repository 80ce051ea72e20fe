namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// The Extended Capability Register (ECAP_REG, offset 10h) of a VT-d remapping unit, decoded
/// into its fields (VT-d spec section 11.4.3). <see cref="Decode"/> and <see cref="Encode"/>
/// round-trip every 64-bit image: bits the spec leaves reserved are kept in <see cref="OtherBits"/>.
/// </summary>
/// <remarks>Each field's bits are defined once, in <see cref="ExtendedCapabilityFields"/>.</remarks>
public readonly record struct ExtendedCapabilityRegister
{
    /// <summary>C (<see cref="ExtendedCapabilityFields.PageWalkCoherency"/>): page-walk coherency.</summary>
    public bool PageWalkCoherency { get; init; }

    /// <summary>QI (<see cref="ExtendedCapabilityFields.QueuedInvalidation"/>): queued invalidation.</summary>
    public bool QueuedInvalidation { get; init; }

    /// <summary>DT (<see cref="ExtendedCapabilityFields.DeviceTlb"/>): device-TLBs (ATS) supported.</summary>
    public bool DeviceTlb { get; init; }

    /// <summary>IR (<see cref="ExtendedCapabilityFields.InterruptRemapping"/>): interrupt remapping.</summary>
    public bool InterruptRemapping { get; init; }

    /// <summary>EIM (<see cref="ExtendedCapabilityFields.ExtendedInterruptMode"/>): extended interrupt mode (x2APIC).</summary>
    public bool ExtendedInterruptMode { get; init; }

    /// <summary>PT (<see cref="ExtendedCapabilityFields.PassThrough"/>): pass-through translation type.</summary>
    public bool PassThrough { get; init; }

    /// <summary>SC (<see cref="ExtendedCapabilityFields.SnoopControl"/>): snoop control.</summary>
    public bool SnoopControl { get; init; }

    /// <summary>IRO (<see cref="ExtendedCapabilityFields.IotlbRegisterOffset"/>): IOTLB register offset, in 16-byte units.</summary>
    public int IotlbRegisterOffset { get; init; }

    /// <summary>MHMV (<see cref="ExtendedCapabilityFields.MaximumHandleMaskValue"/>): maximum handle mask value for interrupt-entry-cache invalidation.</summary>
    public int MaximumHandleMaskValue { get; init; }

    /// <summary>MTS (<see cref="ExtendedCapabilityFields.MemoryTypeSupport"/>): memory type support.</summary>
    public bool MemoryTypeSupport { get; init; }

    /// <summary>NEST (<see cref="ExtendedCapabilityFields.NestedTranslation"/>): nested translation.</summary>
    public bool NestedTranslation { get; init; }

    /// <summary>PRS (<see cref="ExtendedCapabilityFields.PageRequest"/>): page requests.</summary>
    public bool PageRequest { get; init; }

    /// <summary>ERS (<see cref="ExtendedCapabilityFields.ExecuteRequest"/>): execute requests.</summary>
    public bool ExecuteRequest { get; init; }

    /// <summary>SRS (<see cref="ExtendedCapabilityFields.SupervisorRequest"/>): supervisor requests.</summary>
    public bool SupervisorRequest { get; init; }

    /// <summary>NWFS (<see cref="ExtendedCapabilityFields.NoWriteFlag"/>): no write flag.</summary>
    public bool NoWriteFlag { get; init; }

    /// <summary>EAFS (<see cref="ExtendedCapabilityFields.ExtendedAccessedFlag"/>): extended accessed flag.</summary>
    public bool ExtendedAccessedFlag { get; init; }

    /// <summary>PSS (<see cref="ExtendedCapabilityFields.PasidSize"/>, holding the PASID width - 1): PASID width in bits, 1 to 32 (20 on real units).</summary>
    public int PasidWidth { get; init; }

    /// <summary>PASID (<see cref="ExtendedCapabilityFields.Pasid"/>): process address space ids supported.</summary>
    public bool Pasid { get; init; }

    /// <summary>DIT (<see cref="ExtendedCapabilityFields.DeviceTlbInvalidationThrottling"/>): device-TLB invalidation throttling.</summary>
    public bool DeviceTlbInvalidationThrottling { get; init; }

    /// <summary>PDS (<see cref="ExtendedCapabilityFields.PageRequestDrain"/>): page-request drain.</summary>
    public bool PageRequestDrain { get; init; }

    /// <summary>SMTS (<see cref="ExtendedCapabilityFields.ScalableMode"/>): scalable-mode translation (root table with TTM = 01b, PASID tables).</summary>
    public bool ScalableMode { get; init; }

    /// <summary>VCS (<see cref="ExtendedCapabilityFields.VirtualCommand"/>): virtual command support.</summary>
    public bool VirtualCommand { get; init; }

    /// <summary>SLADS (<see cref="ExtendedCapabilityFields.SecondLevelAccessedDirty"/>): second-level accessed/dirty support.</summary>
    public bool SecondLevelAccessedDirty { get; init; }

    /// <summary>SLTS (<see cref="ExtendedCapabilityFields.SecondLevelTranslation"/>): second-level translation in scalable mode (PGTT = 010b).</summary>
    public bool SecondLevelTranslation { get; init; }

    /// <summary>FLTS (<see cref="ExtendedCapabilityFields.FirstLevelTranslation"/>): first-level translation in scalable mode (PGTT = 001b).</summary>
    public bool FirstLevelTranslation { get; init; }

    /// <summary>SMPWCS (<see cref="ExtendedCapabilityFields.ScalableModePageWalkCoherency"/>): scalable-mode page-walk coherency.</summary>
    public bool ScalableModePageWalkCoherency { get; init; }

    /// <summary>RPS (<see cref="ExtendedCapabilityFields.RidPasid"/>): RID_PASID field of scalable-mode context entries is honoured (else RID_PASID is 0).</summary>
    public bool RidPasid { get; init; }

    /// <summary>ADMS (<see cref="ExtendedCapabilityFields.AbortDmaMode"/>): abort DMA mode.</summary>
    public bool AbortDmaMode { get; init; }

    /// <summary>RPRIVS (<see cref="ExtendedCapabilityFields.RidPriv"/>): RID_PRIV support.</summary>
    public bool RidPriv { get; init; }

    /// <summary>Bits of the image that the spec reserves; kept so that encode(decode(x)) == x.</summary>
    public ulong OtherBits { get; init; }

    /// <summary>Decodes an ECAP_REG image.</summary>
    /// <param name="value">The 64-bit register value.</param>
    /// <returns>The fields.</returns>
    public static ExtendedCapabilityRegister Decode(ulong value) => new()
    {
        PageWalkCoherency = ExtendedCapabilityFields.PageWalkCoherency.IsSet(value),
        QueuedInvalidation = ExtendedCapabilityFields.QueuedInvalidation.IsSet(value),
        DeviceTlb = ExtendedCapabilityFields.DeviceTlb.IsSet(value),
        InterruptRemapping = ExtendedCapabilityFields.InterruptRemapping.IsSet(value),
        ExtendedInterruptMode = ExtendedCapabilityFields.ExtendedInterruptMode.IsSet(value),
        PassThrough = ExtendedCapabilityFields.PassThrough.IsSet(value),
        SnoopControl = ExtendedCapabilityFields.SnoopControl.IsSet(value),
        IotlbRegisterOffset = Bits.Int(value, ExtendedCapabilityFields.IotlbRegisterOffset),
        MaximumHandleMaskValue = Bits.Int(value, ExtendedCapabilityFields.MaximumHandleMaskValue),
        MemoryTypeSupport = ExtendedCapabilityFields.MemoryTypeSupport.IsSet(value),
        NestedTranslation = ExtendedCapabilityFields.NestedTranslation.IsSet(value),
        PageRequest = ExtendedCapabilityFields.PageRequest.IsSet(value),
        ExecuteRequest = ExtendedCapabilityFields.ExecuteRequest.IsSet(value),
        SupervisorRequest = ExtendedCapabilityFields.SupervisorRequest.IsSet(value),
        NoWriteFlag = ExtendedCapabilityFields.NoWriteFlag.IsSet(value),
        ExtendedAccessedFlag = ExtendedCapabilityFields.ExtendedAccessedFlag.IsSet(value),
        PasidWidth = Bits.Int(value, ExtendedCapabilityFields.PasidSize) + 1,
        Pasid = ExtendedCapabilityFields.Pasid.IsSet(value),
        DeviceTlbInvalidationThrottling = ExtendedCapabilityFields.DeviceTlbInvalidationThrottling.IsSet(value),
        PageRequestDrain = ExtendedCapabilityFields.PageRequestDrain.IsSet(value),
        ScalableMode = ExtendedCapabilityFields.ScalableMode.IsSet(value),
        VirtualCommand = ExtendedCapabilityFields.VirtualCommand.IsSet(value),
        SecondLevelAccessedDirty = ExtendedCapabilityFields.SecondLevelAccessedDirty.IsSet(value),
        SecondLevelTranslation = ExtendedCapabilityFields.SecondLevelTranslation.IsSet(value),
        FirstLevelTranslation = ExtendedCapabilityFields.FirstLevelTranslation.IsSet(value),
        ScalableModePageWalkCoherency = ExtendedCapabilityFields.ScalableModePageWalkCoherency.IsSet(value),
        RidPasid = ExtendedCapabilityFields.RidPasid.IsSet(value),
        AbortDmaMode = ExtendedCapabilityFields.AbortDmaMode.IsSet(value),
        RidPriv = ExtendedCapabilityFields.RidPriv.IsSet(value),
        OtherBits = value & ~ExtendedCapabilityFields.DefinedBits,
    };

    /// <summary>Encodes the fields into an ECAP_REG image.</summary>
    /// <returns>The 64-bit register value.</returns>
    /// <exception cref="IommuException">EINVAL naming the field that does not fit its bits, or
    /// <see cref="OtherBits"/> overlapping a modelled field.</exception>
    public ulong Encode()
    {
        if ((OtherBits & ExtendedCapabilityFields.DefinedBits) != 0)
            Throw.Iommu(Errno.EINVAL, $"ECAP_REG OtherBits {Throw.Hex(OtherBits)} overlap defined fields");
        return Bits.Put(PageWalkCoherency, ExtendedCapabilityFields.PageWalkCoherency)
            | Bits.Put(QueuedInvalidation, ExtendedCapabilityFields.QueuedInvalidation)
            | Bits.Put(DeviceTlb, ExtendedCapabilityFields.DeviceTlb)
            | Bits.Put(InterruptRemapping, ExtendedCapabilityFields.InterruptRemapping)
            | Bits.Put(ExtendedInterruptMode, ExtendedCapabilityFields.ExtendedInterruptMode)
            | Bits.Put(PassThrough, ExtendedCapabilityFields.PassThrough)
            | Bits.Put(SnoopControl, ExtendedCapabilityFields.SnoopControl)
            | Bits.Put("ECAP_REG.IRO", IotlbRegisterOffset, ExtendedCapabilityFields.IotlbRegisterOffset)
            | Bits.Put("ECAP_REG.MHMV", MaximumHandleMaskValue, ExtendedCapabilityFields.MaximumHandleMaskValue)
            | Bits.Put(MemoryTypeSupport, ExtendedCapabilityFields.MemoryTypeSupport)
            | Bits.Put(NestedTranslation, ExtendedCapabilityFields.NestedTranslation)
            | Bits.Put(PageRequest, ExtendedCapabilityFields.PageRequest)
            | Bits.Put(ExecuteRequest, ExtendedCapabilityFields.ExecuteRequest)
            | Bits.Put(SupervisorRequest, ExtendedCapabilityFields.SupervisorRequest)
            | Bits.Put(NoWriteFlag, ExtendedCapabilityFields.NoWriteFlag)
            | Bits.Put(ExtendedAccessedFlag, ExtendedCapabilityFields.ExtendedAccessedFlag)
            | Bits.Put("ECAP_REG.PSS", PasidWidth - 1, ExtendedCapabilityFields.PasidSize)
            | Bits.Put(Pasid, ExtendedCapabilityFields.Pasid)
            | Bits.Put(DeviceTlbInvalidationThrottling, ExtendedCapabilityFields.DeviceTlbInvalidationThrottling)
            | Bits.Put(PageRequestDrain, ExtendedCapabilityFields.PageRequestDrain)
            | Bits.Put(ScalableMode, ExtendedCapabilityFields.ScalableMode)
            | Bits.Put(VirtualCommand, ExtendedCapabilityFields.VirtualCommand)
            | Bits.Put(SecondLevelAccessedDirty, ExtendedCapabilityFields.SecondLevelAccessedDirty)
            | Bits.Put(SecondLevelTranslation, ExtendedCapabilityFields.SecondLevelTranslation)
            | Bits.Put(FirstLevelTranslation, ExtendedCapabilityFields.FirstLevelTranslation)
            | Bits.Put(ScalableModePageWalkCoherency, ExtendedCapabilityFields.ScalableModePageWalkCoherency)
            | Bits.Put(RidPasid, ExtendedCapabilityFields.RidPasid)
            | Bits.Put(AbortDmaMode, ExtendedCapabilityFields.AbortDmaMode)
            | Bits.Put(RidPriv, ExtendedCapabilityFields.RidPriv)
            | OtherBits;
    }
}
