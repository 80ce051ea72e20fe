namespace Siov.Fast.Hardware.Vtd;

/// <summary>Register images of remapping units to build models from.</summary>
public static class UnitPresets
{
    /// <summary>
    /// A current scalable-mode server unit, shaped after the Sapphire Rapids image Linux prints as
    /// <c>cap 19ed008c40780c66 ecap 3ee9e86f050df</c>, advertising only what the model implements: 65536 domain
    /// ids, 3-, 4- and 5-level second-level tables, MGAW 57, 2 MiB and 1 GiB leaves (second and first level), 4- and
    /// 5-level first-level tables, page-selective
    /// invalidation (MAMV 45), read and write draining, 8 fault recording registers; queued invalidation,
    /// pass-through, device-TLBs (DT) and page requests (PRS), scalable mode with 20-bit PASIDs and RID_PASID,
    /// second-level translation with accessed/dirty tracking (SLADS), first-level translation with supervisor requests
    /// (FLTS, SRS), nested translation (NEST),
    /// page-walk coherency.
    /// Left out, since nothing models them: interrupt
    /// remapping and posted interrupts (IR, EIM, MHMV, PI), page request drain (PDS),
    /// device-TLB throttling (DIT), snoop control (SC: bit 11 of a
    /// second-level entry stays reserved), protected memory regions (PLMR, PHMR), zero-length reads (ZLR),
    /// no-write and extended accessed flags (NWFS, EAFS) and memory types (MTS). The real
    /// unit has no execute requests (ERS), so neither has this preset.
    /// </summary>
    public static CapabilityRegister ScalableCapability { get; } = new()
    {
        NumberOfDomainsField = 6,
        SupportedAdjustedGuestAddressWidths = 0b01110,
        MaximumGuestAddressWidth = 57,
        FaultRecordingRegisterOffset = 0x40,
        SecondLevelLargePageSupport = 0b11,
        PageSelectiveInvalidation = true,
        NumberOfFaultRecordingRegisters = 8,
        MaximumAddressMaskValue = 45,
        DmaWriteDraining = true,
        DmaReadDraining = true,
        FirstLevel1GPages = true,
        FirstLevel5LevelPaging = true,
    };

    /// <summary>The extended capabilities that go with <see cref="ScalableCapability"/>.</summary>
    public static ExtendedCapabilityRegister ScalableExtendedCapability { get; } = new()
    {
        PageWalkCoherency = true,
        QueuedInvalidation = true,
        DeviceTlb = true,
        PassThrough = true,
        IotlbRegisterOffset = 0x50,
        PasidWidth = 20,
        Pasid = true,
        ScalableMode = true,
        SecondLevelTranslation = true,
        FirstLevelTranslation = true,
        SupervisorRequest = true,
        NestedTranslation = true,
        SecondLevelAccessedDirty = true,
        ScalableModePageWalkCoherency = true,
        RidPasid = true,
        PageRequest = true,
    };

    /// <summary>A legacy-mode unit from a 2011 Sandy Bridge server board, as Linux printed it:
    /// <c>cap c9008020660262 ecap f010da</c> (256 domain ids, 3-level tables only, MGAW 39, no
    /// superpages, one fault record, pass-through, no scalable mode). Its platform's HAW is 36.</summary>
    public static CapabilityRegister LegacyCapability { get; } = CapabilityRegister.Decode(0xc9008020660262);

    /// <summary>The extended capabilities that go with <see cref="LegacyCapability"/>.</summary>
    public static ExtendedCapabilityRegister LegacyExtendedCapability { get; } = ExtendedCapabilityRegister.Decode(0xf010da);
}
