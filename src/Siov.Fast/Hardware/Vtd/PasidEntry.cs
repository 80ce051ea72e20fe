namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// A 512-bit scalable-mode PASID table entry (VT-d spec section 9.6), 64 per 4 KiB PASID table,
/// indexed by PASID[5:0]. The model reads qwords 0 and 1; the others are written as zero.
/// </summary>
/// <remarks>
/// Qword 0: P 0, FPD 1, AW 4:2, SLEE 5, PGTT 8:6, SLADE 9, reserved 11:10, SLPTPTR 63:12.
/// Qword 1: DID 15:0, reserved 22:16, PWSNP 23, PGSNP 24, CD 25, EMTE 26, EMT 29:27,
/// PWT 30, PCD 31, PAT 63:32.
/// </remarks>
/// <param name="Q0">Bits 63:0.</param>
/// <param name="Q1">Bits 127:64.</param>
public readonly record struct PasidEntry(ulong Q0, ulong Q1)
{
    /// <summary>Size of an entry in bytes.</summary>
    public const int Size = 64;

    /// <summary>Reserved bits 11:10 of qword 0.</summary>
    public const ulong ReservedQ0Bits = 0xC00UL;

    /// <summary>Reserved bits 22:16 of qword 1.</summary>
    public const ulong ReservedQ1Bits = 0x7F_0000UL;

    /// <summary>A second-level entry (PGTT = 010b).</summary>
    /// <param name="secondLevelRoot">SLPTPTR.</param>
    /// <param name="addressWidth">AW: levels - 2.</param>
    /// <param name="domainId">DID.</param>
    /// <param name="faultProcessingDisable">FPD.</param>
    /// <returns>The entry.</returns>
    public static PasidEntry SecondLevel(ulong secondLevelRoot, int addressWidth, ushort domainId, bool faultProcessingDisable = false) =>
        new((secondLevelRoot & RootEntry.PointerMask) | (ulong)PasidTranslationType.SecondLevel << 6 | (ulong)(addressWidth & 7) << 2
                | (faultProcessingDisable ? 2UL : 0) | 1,
            domainId);

    /// <summary>A pass-through entry (PGTT = 100b).</summary>
    /// <param name="addressWidth">AW (checked against SAGAW even for pass-through, as Linux fills it).</param>
    /// <param name="domainId">DID.</param>
    /// <param name="faultProcessingDisable">FPD.</param>
    /// <returns>The entry.</returns>
    public static PasidEntry PassThrough(int addressWidth, ushort domainId, bool faultProcessingDisable = false) =>
        new((ulong)PasidTranslationType.PassThrough << 6 | (ulong)(addressWidth & 7) << 2 | (faultProcessingDisable ? 2UL : 0) | 1, domainId);

    /// <summary>P: present.</summary>
    public bool IsPresent => (Q0 & 1) != 0;

    /// <summary>FPD: fault processing disable.</summary>
    public bool FaultProcessingDisable => (Q0 & 2) != 0;

    /// <summary>AW: levels - 2.</summary>
    public int AddressWidth => (int)(Q0 >> 2) & 7;

    /// <summary>PGTT: the translation type.</summary>
    public PasidTranslationType TranslationType => (PasidTranslationType)((Q0 >> 6) & 7);

    /// <summary>SLPTPTR.</summary>
    public ulong SecondLevelRoot => Q0 & RootEntry.PointerMask;

    /// <summary>DID.</summary>
    public ushort DomainId => (ushort)Q1;
}
