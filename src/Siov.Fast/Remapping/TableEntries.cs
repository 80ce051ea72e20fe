namespace Siov.Fast.Remapping;

/// <summary>
/// A 128-bit root entry (VT-d spec sections 9.1 and 9.2), one per bus in the 4 KiB root table.
/// Legacy mode: <c>Low</c> bit 0 = P, bits 63:12 = context-table pointer, <c>High</c> reserved.
/// Scalable mode: <c>Low</c> = LP and LCTP (devfn 0-127), <c>High</c> = UP and UCTP (devfn 128-255).
/// Bits 11:1 of each half are reserved.
/// </summary>
/// <param name="Low">Bits 63:0.</param>
/// <param name="High">Bits 127:64.</param>
public readonly record struct RootEntry(ulong Low, ulong High)
{
    /// <summary>Size of an entry in bytes.</summary>
    public const int Size = 16;

    /// <summary>P / LP / UP: present bit of a half.</summary>
    public const ulong PresentBit = 1;

    /// <summary>Context-table pointer bits 63:12 of a half (bits at or above HAW are reserved).</summary>
    public const ulong PointerMask = 0xFFFF_FFFF_FFFF_F000UL;

    /// <summary>Reserved bits 11:1 of each half.</summary>
    public const ulong ReservedLowBits = 0xFFEUL;

    /// <summary>A legacy root entry pointing to a context table.</summary>
    /// <param name="contextTableHpa">4 KiB-aligned HPA of the context table.</param>
    /// <returns>The entry.</returns>
    public static RootEntry Legacy(ulong contextTableHpa) => new((contextTableHpa & PointerMask) | PresentBit, 0);

    /// <summary>Half <paramref name="upper"/> (devfn 128-255) or the lower half of a scalable-mode root entry.</summary>
    /// <param name="upper">True for UP/UCTP.</param>
    /// <returns>The 64-bit half.</returns>
    public ulong Half(bool upper) => upper ? High : Low;
}

/// <summary>
/// A legacy-mode 128-bit context entry (VT-d spec section 9.3), one per devfn in a 4 KiB context table.
/// </summary>
/// <remarks>
/// <c>Low</c>: P 0, FPD 1, TT 3:2 (00b second-level only, 01b second-level with device-TLB,
/// 10b pass-through), reserved 11:4, SLPTPTR 63:12.
/// <c>High</c>: AW 2:0 (1 = 39-bit/3-level, 2 = 48-bit/4-level, 3 = 57-bit/5-level), ignored 6:3,
/// reserved 7, DID 23:8, reserved 63:24.
/// </remarks>
/// <param name="Low">Bits 63:0.</param>
/// <param name="High">Bits 127:64.</param>
public readonly record struct ContextEntry(ulong Low, ulong High)
{
    /// <summary>Size of an entry in bytes.</summary>
    public const int Size = 16;

    /// <summary>Reserved bits of <see cref="Low"/> (below the pointer).</summary>
    public const ulong ReservedLowBits = 0xFF0UL;

    /// <summary>Reserved bits of <see cref="High"/>.</summary>
    public const ulong ReservedHighBits = 0xFFFF_FFFF_FF00_0080UL;

    /// <summary>Builds an entry.</summary>
    /// <param name="translationType">TT: 0 second-level, 1 second-level with device-TLB, 2 pass-through.</param>
    /// <param name="secondLevelRoot">SLPTPTR (ignored by hardware for pass-through; 0 then).</param>
    /// <param name="addressWidth">AW: levels - 2.</param>
    /// <param name="domainId">DID.</param>
    /// <param name="faultProcessingDisable">FPD.</param>
    /// <returns>The entry.</returns>
    public static ContextEntry Create(int translationType, ulong secondLevelRoot, int addressWidth, ushort domainId, bool faultProcessingDisable = false) =>
        new((secondLevelRoot & RootEntry.PointerMask) | ((ulong)(uint)translationType & 3) << 2 | (faultProcessingDisable ? 2UL : 0) | 1,
            (ulong)domainId << 8 | ((ulong)(uint)addressWidth & 7));

    /// <summary>P: present.</summary>
    public bool IsPresent => (Low & 1) != 0;

    /// <summary>FPD: fault processing disable.</summary>
    public bool FaultProcessingDisable => (Low & 2) != 0;

    /// <summary>TT: translation type.</summary>
    public int TranslationType => (int)(Low >> 2) & 3;

    /// <summary>SLPTPTR: second-level page-table pointer.</summary>
    public ulong SecondLevelRoot => Low & RootEntry.PointerMask;

    /// <summary>AW: address width encoding (levels - 2).</summary>
    public int AddressWidth => (int)(High & 7);

    /// <summary>DID: domain id.</summary>
    public ushort DomainId => (ushort)(High >> 8);
}

/// <summary>
/// A scalable-mode 256-bit context entry (VT-d spec section 9.4), 128 per 4 KiB context table.
/// </summary>
/// <remarks>
/// Qword 0: P 0, FPD 1, DTE 2, PASIDE 3, PRE 4, reserved 8:5, PDTS 11:9 (the PASID directory
/// has 2^(PDTS + 7) entries), PASIDDIRPTR 63:12. Qword 1: RID_PASID 19:0, RID_PRIV 20, reserved
/// 63:21. Qwords 2 and 3 are reserved.
/// </remarks>
/// <param name="Q0">Bits 63:0.</param>
/// <param name="Q1">Bits 127:64.</param>
public readonly record struct ScalableContextEntry(ulong Q0, ulong Q1)
{
    /// <summary>Size of an entry in bytes.</summary>
    public const int Size = 32;

    /// <summary>Reserved bits of qword 0 (below the pointer).</summary>
    public const ulong ReservedQ0Bits = 0x1E0UL;

    /// <summary>Reserved bits of qword 1.</summary>
    public const ulong ReservedQ1Bits = 0xFFFF_FFFF_FFE0_0000UL;

    /// <summary>Builds an entry.</summary>
    /// <param name="pasidDirectory">PASIDDIRPTR, 4 KiB aligned.</param>
    /// <param name="pdts">PDTS, 0-7.</param>
    /// <param name="ridPasid">RID_PASID: the PASID that requests without a PASID use.</param>
    /// <param name="deviceTlb">DTE: device-TLB (ATS) enabled.</param>
    /// <param name="pasidEnable">PASIDE: requests with a PASID are allowed.</param>
    /// <param name="faultProcessingDisable">FPD.</param>
    /// <returns>The entry.</returns>
    public static ScalableContextEntry Create(ulong pasidDirectory, int pdts, uint ridPasid, bool deviceTlb, bool pasidEnable, bool faultProcessingDisable = false) =>
        new((pasidDirectory & RootEntry.PointerMask) | (ulong)(pdts & 7) << 9 | (pasidEnable ? 8UL : 0) | (deviceTlb ? 4UL : 0)
                | (faultProcessingDisable ? 2UL : 0) | 1,
            ridPasid & 0xFFFFF);

    /// <summary>P: present.</summary>
    public bool IsPresent => (Q0 & 1) != 0;

    /// <summary>FPD: fault processing disable.</summary>
    public bool FaultProcessingDisable => (Q0 & 2) != 0;

    /// <summary>DTE: device-TLB enable.</summary>
    public bool DeviceTlbEnable => (Q0 & 4) != 0;

    /// <summary>PASIDE: requests with a PASID are allowed.</summary>
    public bool PasidEnable => (Q0 & 8) != 0;

    /// <summary>PDTS: the PASID directory has 2^(PDTS + 7) entries.</summary>
    public int PasidDirectorySizeField => (int)(Q0 >> 9) & 7;

    /// <summary>PASIDDIRPTR.</summary>
    public ulong PasidDirectory => Q0 & RootEntry.PointerMask;

    /// <summary>RID_PASID.</summary>
    public uint RidPasid => (uint)(Q1 & 0xFFFFF);
}

/// <summary>
/// A 64-bit scalable-mode PASID directory entry (VT-d spec section 9.5), indexed by PASID[19:6]:
/// P 0, FPD 1, reserved 11:2, SMPTBLPTR 63:12 (a 4 KiB PASID table of 64 entries).
/// </summary>
/// <param name="Value">The entry.</param>
public readonly record struct PasidDirectoryEntry(ulong Value)
{
    /// <summary>Size of an entry in bytes.</summary>
    public const int Size = 8;

    /// <summary>Reserved bits 11:2.</summary>
    public const ulong ReservedBits = 0xFFCUL;

    /// <summary>P: present.</summary>
    public bool IsPresent => (Value & 1) != 0;

    /// <summary>FPD: fault processing disable.</summary>
    public bool FaultProcessingDisable => (Value & 2) != 0;

    /// <summary>SMPTBLPTR: the PASID table.</summary>
    public ulong PasidTable => Value & RootEntry.PointerMask;

    /// <summary>A present entry pointing to a PASID table.</summary>
    /// <param name="pasidTableHpa">4 KiB-aligned HPA.</param>
    /// <returns>The entry.</returns>
    public static PasidDirectoryEntry Create(ulong pasidTableHpa) => new((pasidTableHpa & RootEntry.PointerMask) | 1);
}

/// <summary>Page-granular translation type (PGTT) of a PASID entry.</summary>
public enum PasidTranslationType
{
    /// <summary>001b: first-level translation only (not modelled: the entry is invalid here).</summary>
    FirstLevel = 1,

    /// <summary>010b: second-level translation only.</summary>
    SecondLevel = 2,

    /// <summary>011b: nested first- and second-level (not modelled: the entry is invalid here).</summary>
    Nested = 3,

    /// <summary>100b: pass-through; the output address is the input address.</summary>
    PassThrough = 4,
}

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
