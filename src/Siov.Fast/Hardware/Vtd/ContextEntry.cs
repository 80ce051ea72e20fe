namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// A legacy-mode 128-bit context entry (VT-d spec section 9.3), one per devfn in a 4 KiB context table.
/// </summary>
/// <remarks>
/// <c>Low</c>: <see cref="PresentField"/>, <see cref="FaultProcessingDisableField"/>, <see cref="TranslationTypeField"/>
/// (00b second-level only, 01b second-level with device-TLB, 10b pass-through), <see cref="ReservedLowField"/>,
/// SLPTPTR (<see cref="RootEntry.PointerField"/>). <c>High</c>: <see cref="AddressWidthField"/> (1 = 39-bit/3-level,
/// 2 = 48-bit/4-level, 3 = 57-bit/5-level), ignored 6:3, reserved 7, <see cref="DomainIdField"/>, reserved 63:24.
/// </remarks>
/// <param name="Low">Bits 63:0.</param>
/// <param name="High">Bits 127:64.</param>
public readonly record struct ContextEntry(ulong Low, ulong High)
{
    /// <summary>Size of an entry in bytes.</summary>
    public const int Size = 16;

    /// <summary>P, <c>Low</c> bit 0.</summary>
    public static readonly RegisterField PresentField = new(0, 1);

    /// <summary>FPD, <c>Low</c> bit 1: fault processing disable.</summary>
    public static readonly RegisterField FaultProcessingDisableField = new(1, 1);

    /// <summary>TT, <c>Low</c> bits 3:2: translation type.</summary>
    public static readonly RegisterField TranslationTypeField = new(2, 2);

    /// <summary><c>Low</c> bits 11:4: reserved.</summary>
    public static readonly RegisterField ReservedLowField = new(4, 8);

    /// <summary>AW, <c>High</c> bits 2:0: adjusted guest address width (levels - 2).</summary>
    public static readonly RegisterField AddressWidthField = new(0, 3);

    /// <summary><c>High</c> bit 7: reserved.</summary>
    public static readonly RegisterField ReservedHighBit7Field = new(7, 1);

    /// <summary>DID, <c>High</c> bits 23:8: domain id.</summary>
    public static readonly RegisterField DomainIdField = new(8, 16);

    /// <summary><c>High</c> bits 63:24: reserved.</summary>
    public static readonly RegisterField ReservedHighField = new(24, 40);

    /// <summary>Reserved bits of <see cref="Low"/> (below the pointer), in place.</summary>
    public static readonly ulong ReservedLowBits = ReservedLowField.Mask;

    /// <summary>Reserved bits of <see cref="High"/>, in place.</summary>
    public static readonly ulong ReservedHighBits = ReservedHighField.Mask | ReservedHighBit7Field.Mask;

    /// <summary>Builds a present entry.</summary>
    /// <param name="translationType">TT: 0 second-level, 1 second-level with device-TLB, 2 pass-through.</param>
    /// <param name="secondLevelRoot">SLPTPTR (ignored by hardware for pass-through; 0 then).</param>
    /// <param name="addressWidth">AW: levels - 2.</param>
    /// <param name="domainId">DID.</param>
    /// <param name="faultProcessingDisable">FPD.</param>
    /// <returns>The entry.</returns>
    public static ContextEntry Create(int translationType, ulong secondLevelRoot, int addressWidth, ushort domainId, bool faultProcessingDisable = false) =>
        new((secondLevelRoot & RootEntry.PointerMask) | TranslationTypeField.Encode((uint)translationType)
                | FaultProcessingDisableField.Encode(faultProcessingDisable ? 1UL : 0) | PresentField.Encode(1),
            DomainIdField.Encode(domainId) | AddressWidthField.Encode((uint)addressWidth));

    /// <summary>P: present.</summary>
    public bool IsPresent => PresentField.IsSet(Low);

    /// <summary>FPD: fault processing disable.</summary>
    public bool FaultProcessingDisable => FaultProcessingDisableField.IsSet(Low);

    /// <summary>TT: translation type.</summary>
    public int TranslationType => (int)TranslationTypeField.Get(Low);

    /// <summary>SLPTPTR: second-level page-table pointer.</summary>
    public ulong SecondLevelRoot => Low & RootEntry.PointerMask;

    /// <summary>AW: address width encoding (levels - 2).</summary>
    public int AddressWidth => (int)AddressWidthField.Get(High);

    /// <summary>DID: domain id.</summary>
    public ushort DomainId => (ushort)DomainIdField.Get(High);
}
