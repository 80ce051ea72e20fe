namespace Siov.Fast.Remapping;

/// <summary>Register images of remapping units to build models from.</summary>
public static class UnitPresets
{
    /// <summary>
    /// A current scalable-mode server unit, shaped after the Sapphire Rapids image Linux prints as
    /// <c>cap 19ed008c40780c66 ecap 3ee9e86f050df</c>, with these differences: 3-level tables
    /// allowed too (SAGAW bit 1) and 8 fault records; PASID and page requests (PRS) on; first-level,
    /// nested translation and memory types (FLTS, NEST, MTS) off, since the model walks second-level
    /// tables only. So: 65536 domain ids, 3-, 4- and 5-level tables, MGAW 57, 2 MiB and 1 GiB leaves, page-selective invalidation, 8 fault
    /// records; pass-through, device-TLBs, 20-bit PASIDs, RID_PASID.
    /// </summary>
    public static CapabilityRegister ScalableCapability { get; } = new()
    {
        NumberOfDomainsField = 6,
        ProtectedLowMemoryRegion = true,
        ProtectedHighMemoryRegion = true,
        SupportedAdjustedGuestAddressWidths = 0b01110,
        MaximumGuestAddressWidth = 57,
        ZeroLengthRead = true,
        FaultRecordingRegisterOffset = 0x40,
        SecondLevelLargePageSupport = 0b11,
        PageSelectiveInvalidation = true,
        NumberOfFaultRecordingRegisters = 8,
        MaximumAddressMaskValue = 45,
        DmaWriteDraining = true,
        DmaReadDraining = true,
        FirstLevel1GPages = true,
        PostedInterrupts = true,
        FirstLevel5LevelPaging = true,
    };

    /// <summary>The extended capabilities that go with <see cref="ScalableCapability"/>.</summary>
    public static ExtendedCapabilityRegister ScalableExtendedCapability { get; } = new()
    {
        PageWalkCoherency = true,
        QueuedInvalidation = true,
        DeviceTlb = true,
        InterruptRemapping = true,
        ExtendedInterruptMode = true,
        PassThrough = true,
        SnoopControl = true,
        IotlbRegisterOffset = 0x50,
        MaximumHandleMaskValue = 0xF,
        PageRequest = true,
        SupervisorRequest = true,
        NoWriteFlag = true,
        ExtendedAccessedFlag = true,
        PasidWidth = 20,
        Pasid = true,
        DeviceTlbInvalidationThrottling = true,
        PageRequestDrain = true,
        ScalableMode = true,
        SecondLevelAccessedDirty = true,
        SecondLevelTranslation = true,
        ScalableModePageWalkCoherency = true,
        RidPasid = true,
    };

    /// <summary>A legacy-mode unit from a 2011 Sandy Bridge server board, as Linux printed it:
    /// <c>cap c9008020660262 ecap f010da</c> (256 domain ids, 3-level tables only, MGAW 39, no
    /// superpages, one fault record, pass-through, no scalable mode). Its platform's HAW is 36.</summary>
    public static CapabilityRegister LegacyCapability { get; } = CapabilityRegister.Decode(0xc9008020660262);

    /// <summary>The extended capabilities that go with <see cref="LegacyCapability"/>.</summary>
    public static ExtendedCapabilityRegister LegacyExtendedCapability { get; } = ExtendedCapabilityRegister.Decode(0xf010da);
}
