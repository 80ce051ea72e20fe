namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// A 512-bit scalable-mode PASID table entry (VT-d spec section 9.6), 64 per 4 KiB PASID table,
/// indexed by PASID[5:0]. The model reads qwords 0 to 2; the others are written as zero.
/// </summary>
/// <remarks>
/// Qword 0: <see cref="PresentField"/>, <see cref="FaultProcessingDisableField"/>, <see cref="AddressWidthField"/>,
/// SLEE 5, <see cref="TranslationTypeField"/>, SLADE 9, <see cref="ReservedQ0Field"/>, SLPTPTR
/// (<see cref="RootEntry.PointerField"/>). Qword 1: <see cref="DomainIdField"/>, <see cref="ReservedQ1Field"/>,
/// PWSNP 23, PGSNP 24, CD 25, EMTE 26, EMT 29:27, PWT 30, PCD 31, PAT 63:32. Qword 2 (first-level controls):
/// <see cref="SupervisorRequestEnableField"/> (SRE, bit 128), <see cref="ExecuteRequestEnableField"/> (ERE, 129),
/// <see cref="FirstLevelPagingModeField"/> (FLPM, 131:130), <see cref="WriteProtectEnableField"/> (WPE, 132),
/// <see cref="NoExecuteEnableField"/> (NXE, 133), <see cref="SupervisorExecuteProtectField"/> (SMEP, 134),
/// <see cref="ExtendedAccessedFlagEnableField"/> (EAFE, 135), <see cref="ReservedQ2Field"/> (139:136), FLPTPTR (191:140,
/// <see cref="RootEntry.PointerField"/>).
/// </remarks>
/// <param name="Q0">Bits 63:0.</param>
/// <param name="Q1">Bits 127:64.</param>
/// <param name="Q2">Bits 191:128 (first-level controls and FLPTPTR; zero for second-level and pass-through entries).</param>
public readonly record struct PasidEntry(ulong Q0, ulong Q1, ulong Q2 = 0)
{
    /// <summary>Size of an entry in bytes.</summary>
    public const int Size = 64;

    /// <summary>P, qword 0 bit 0.</summary>
    public static readonly RegisterField PresentField = new(0, 1);

    /// <summary>FPD, qword 0 bit 1.</summary>
    public static readonly RegisterField FaultProcessingDisableField = new(1, 1);

    /// <summary>AW, qword 0 bits 4:2: second-level address width (levels - 2).</summary>
    public static readonly RegisterField AddressWidthField = new(2, 3);

    /// <summary>PGTT, qword 0 bits 8:6: the translation type (<see cref="PasidTranslationType"/>).</summary>
    public static readonly RegisterField TranslationTypeField = new(6, 3);

    /// <summary>SLADE, qword 0 bit 9: second-level accessed/dirty enable (dirty tracking; needs ECAP_REG.SLADS).</summary>
    public static readonly RegisterField SecondLevelAccessedDirtyEnableField = new(9, 1);

    /// <summary>Qword 0 bits 11:10: reserved.</summary>
    public static readonly RegisterField ReservedQ0Field = new(10, 2);

    /// <summary>DID, qword 1 bits 15:0: domain id.</summary>
    public static readonly RegisterField DomainIdField = new(0, 16);

    /// <summary>Qword 1 bits 22:16: reserved.</summary>
    public static readonly RegisterField ReservedQ1Field = new(16, 7);

    /// <summary>SRE, qword 2 bit 0: supervisor (privileged) requests are allowed.</summary>
    public static readonly RegisterField SupervisorRequestEnableField = new(0, 1);

    /// <summary>ERE, qword 2 bit 1: execute requests are allowed.</summary>
    public static readonly RegisterField ExecuteRequestEnableField = new(1, 1);

    /// <summary>FLPM, qword 2 bits 3:2: first-level paging mode, 00b 4-level, 01b 5-level (CAP_REG.FL5LP).</summary>
    public static readonly RegisterField FirstLevelPagingModeField = new(2, 2);

    /// <summary>WPE, qword 2 bit 4: supervisor writes obey R/W.</summary>
    public static readonly RegisterField WriteProtectEnableField = new(4, 1);

    /// <summary>NXE, qword 2 bit 5: XD in first-level entries is honoured.</summary>
    public static readonly RegisterField NoExecuteEnableField = new(5, 1);

    /// <summary>SMEP, qword 2 bit 6: supervisor execute of user pages is refused.</summary>
    public static readonly RegisterField SupervisorExecuteProtectField = new(6, 1);

    /// <summary>EAFE, qword 2 bit 7: the extended accessed flag (needs ECAP_REG.EAFS, which the model does not advertise).</summary>
    public static readonly RegisterField ExtendedAccessedFlagEnableField = new(7, 1);

    /// <summary>Qword 2 bits 11:8: reserved.</summary>
    public static readonly RegisterField ReservedQ2Field = new(8, 4);

    /// <summary>Reserved bits 11:10 of qword 0, in place.</summary>
    public static readonly ulong ReservedQ0Bits = ReservedQ0Field.Mask;

    /// <summary>Reserved bits 22:16 of qword 1, in place.</summary>
    public static readonly ulong ReservedQ1Bits = ReservedQ1Field.Mask;

    /// <summary>A second-level entry (PGTT = 010b).</summary>
    /// <param name="secondLevelRoot">SLPTPTR.</param>
    /// <param name="addressWidth">AW: levels - 2.</param>
    /// <param name="domainId">DID.</param>
    /// <param name="faultProcessingDisable">FPD.</param>
    /// <returns>The entry.</returns>
    public static PasidEntry SecondLevel(ulong secondLevelRoot, int addressWidth, ushort domainId, bool faultProcessingDisable = false) =>
        Create(PasidTranslationType.SecondLevel, secondLevelRoot, addressWidth, domainId, faultProcessingDisable);

    /// <summary>A pass-through entry (PGTT = 100b).</summary>
    /// <param name="addressWidth">AW (checked against SAGAW even for pass-through, as Linux fills it).</param>
    /// <param name="domainId">DID.</param>
    /// <param name="faultProcessingDisable">FPD.</param>
    /// <returns>The entry.</returns>
    public static PasidEntry PassThrough(int addressWidth, ushort domainId, bool faultProcessingDisable = false) =>
        Create(PasidTranslationType.PassThrough, 0, addressWidth, domainId, faultProcessingDisable);

    /// <summary>A first-level entry (PGTT = 001b): the table is IA-32e, rooted at <paramref name="firstLevelRoot"/>.</summary>
    /// <param name="firstLevelRoot">FLPTPTR: the FL-PML4 (or FL-PML5) table.</param>
    /// <param name="levels">4 or 5 (FLPM 00b or 01b).</param>
    /// <param name="domainId">DID: the IOTLB tags its entries with it and the PASID.</param>
    /// <param name="controls">SRE, ERE, WPE, NXE, SMEP.</param>
    /// <param name="faultProcessingDisable">FPD.</param>
    /// <returns>The entry.</returns>
    public static PasidEntry FirstLevel(ulong firstLevelRoot, int levels, ushort domainId, FirstLevelControls controls = default, bool faultProcessingDisable = false) =>
        new(TranslationTypeField.Encode((ulong)PasidTranslationType.FirstLevel)
                | FaultProcessingDisableField.Encode(faultProcessingDisable ? 1UL : 0) | PresentField.Encode(1),
            DomainIdField.Encode(domainId),
            (firstLevelRoot & RootEntry.PointerMask) | FirstLevelPagingModeField.Encode(levels == 5 ? 1UL : 0)
                | SupervisorRequestEnableField.Encode(controls.SupervisorRequests ? 1UL : 0)
                | ExecuteRequestEnableField.Encode(controls.ExecuteRequests ? 1UL : 0)
                | WriteProtectEnableField.Encode(controls.WriteProtect ? 1UL : 0)
                | NoExecuteEnableField.Encode(controls.NoExecute ? 1UL : 0)
                | SupervisorExecuteProtectField.Encode(controls.SupervisorExecuteProtect ? 1UL : 0));

    /// <summary>A nested entry (PGTT = 011b): a first-level table whose pointers and output are GPAs, mapped by the
    /// second-level table at <paramref name="secondLevelRoot"/>.</summary>
    /// <param name="firstLevelRoot">FLPTPTR (a GPA).</param>
    /// <param name="firstLevelLevels">4 or 5.</param>
    /// <param name="secondLevelRoot">SLPTPTR (an HPA).</param>
    /// <param name="addressWidth">AW of the second level: levels - 2.</param>
    /// <param name="domainId">DID.</param>
    /// <param name="controls">SRE, ERE, WPE, NXE, SMEP.</param>
    /// <returns>The entry.</returns>
    public static PasidEntry Nested(ulong firstLevelRoot, int firstLevelLevels, ulong secondLevelRoot, int addressWidth, ushort domainId,
        FirstLevelControls controls = default)
    {
        PasidEntry first = FirstLevel(firstLevelRoot, firstLevelLevels, domainId, controls);
        return new PasidEntry(
            (secondLevelRoot & RootEntry.PointerMask) | TranslationTypeField.Encode((ulong)PasidTranslationType.Nested)
                | AddressWidthField.Encode((uint)addressWidth) | PresentField.Encode(1),
            first.Q1, first.Q2);
    }

    private static PasidEntry Create(PasidTranslationType type, ulong secondLevelRoot, int addressWidth, ushort domainId, bool faultProcessingDisable) =>
        new((secondLevelRoot & RootEntry.PointerMask) | TranslationTypeField.Encode((ulong)type) | AddressWidthField.Encode((uint)addressWidth)
                | FaultProcessingDisableField.Encode(faultProcessingDisable ? 1UL : 0) | PresentField.Encode(1),
            DomainIdField.Encode(domainId));

    /// <summary>P: present.</summary>
    public bool IsPresent => PresentField.IsSet(Q0);

    /// <summary>FPD: fault processing disable.</summary>
    public bool FaultProcessingDisable => FaultProcessingDisableField.IsSet(Q0);

    /// <summary>AW: levels - 2.</summary>
    public int AddressWidth => (int)AddressWidthField.Get(Q0);

    /// <summary>PGTT: the translation type.</summary>
    public PasidTranslationType TranslationType => (PasidTranslationType)TranslationTypeField.Get(Q0);

    /// <summary>SLPTPTR.</summary>
    public ulong SecondLevelRoot => Q0 & RootEntry.PointerMask;

    /// <summary>DID.</summary>
    public ushort DomainId => (ushort)DomainIdField.Get(Q1);

    /// <summary>SLADE: the hardware sets A and D in second-level entries.</summary>
    public bool SecondLevelAccessedDirty => SecondLevelAccessedDirtyEnableField.IsSet(Q0);

    /// <summary>FLPTPTR (qword 2 bits 63:12).</summary>
    public ulong FirstLevelRoot => Q2 & RootEntry.PointerMask;

    /// <summary>FLPM: 0 for 4-level, 1 for 5-level paging (2 and 3 are reserved).</summary>
    public int FirstLevelPagingMode => (int)FirstLevelPagingModeField.Get(Q2);

    /// <summary>SRE, ERE, WPE, NXE and SMEP.</summary>
    public FirstLevelControls Controls => new(SupervisorRequestEnableField.IsSet(Q2), ExecuteRequestEnableField.IsSet(Q2),
        WriteProtectEnableField.IsSet(Q2), NoExecuteEnableField.IsSet(Q2), SupervisorExecuteProtectField.IsSet(Q2));
}
