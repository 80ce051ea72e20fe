namespace Siov.Fast.Hardware.Vtd;

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
