namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// A 512-bit scalable-mode PASID table entry (VT-d spec section 9.6), 64 per 4 KiB PASID table,
/// indexed by PASID[5:0]. The model reads qwords 0 and 1; the others are written as zero.
/// </summary>
/// <remarks>
/// Qword 0: <see cref="PresentField"/>, <see cref="FaultProcessingDisableField"/>, <see cref="AddressWidthField"/>,
/// SLEE 5, <see cref="TranslationTypeField"/>, SLADE 9, <see cref="ReservedQ0Field"/>, SLPTPTR
/// (<see cref="RootEntry.PointerField"/>). Qword 1: <see cref="DomainIdField"/>, <see cref="ReservedQ1Field"/>,
/// PWSNP 23, PGSNP 24, CD 25, EMTE 26, EMT 29:27, PWT 30, PCD 31, PAT 63:32.
/// </remarks>
/// <param name="Q0">Bits 63:0.</param>
/// <param name="Q1">Bits 127:64.</param>
public readonly record struct PasidEntry(ulong Q0, ulong Q1)
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

    /// <summary>Qword 0 bits 11:10: reserved.</summary>
    public static readonly RegisterField ReservedQ0Field = new(10, 2);

    /// <summary>DID, qword 1 bits 15:0: domain id.</summary>
    public static readonly RegisterField DomainIdField = new(0, 16);

    /// <summary>Qword 1 bits 22:16: reserved.</summary>
    public static readonly RegisterField ReservedQ1Field = new(16, 7);

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
}
