namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// A 128-bit root entry (VT-d spec sections 9.1 and 9.2), one per bus in the 4 KiB root table.
/// Legacy mode: <c>Low</c> holds P and the context-table pointer, <c>High</c> is reserved.
/// Scalable mode: <c>Low</c> = LP and LCTP (devfn 0-127), <c>High</c> = UP and UCTP (devfn 128-255).
/// Each half has the layout of <see cref="PresentField"/>, <see cref="ReservedField"/> and <see cref="PointerField"/>.
/// </summary>
/// <param name="Low">Bits 63:0.</param>
/// <param name="High">Bits 127:64.</param>
public readonly record struct RootEntry(ulong Low, ulong High)
{
    /// <summary>Size of an entry in bytes.</summary>
    public const int Size = 16;

    /// <summary>P / LP / UP, bit 0 of a half: present.</summary>
    public static readonly RegisterField PresentField = new(0, 1);

    /// <summary>Bits 11:1 of a half: reserved (must be 0).</summary>
    public static readonly RegisterField ReservedField = new(1, 11);

    /// <summary>CTP / LCTP / UCTP, bits 63:12 of a half: the context table's HPA (bits at or above HAW are reserved).</summary>
    public static readonly RegisterField PointerField = new(12, 52);

    /// <summary>The present bit in place.</summary>
    public static readonly ulong PresentBit = PresentField.Mask;

    /// <summary>The pointer bits in place (a 4 KiB-aligned HPA); every table pointer of VT-d has this layout.</summary>
    public static readonly ulong PointerMask = PointerField.Mask;

    /// <summary>The reserved bits 11:1 in place.</summary>
    public static readonly ulong ReservedLowBits = ReservedField.Mask;

    /// <summary>A legacy root entry pointing to a context table.</summary>
    /// <param name="contextTableHpa">4 KiB-aligned HPA of the context table.</param>
    /// <returns>The entry.</returns>
    public static RootEntry Legacy(ulong contextTableHpa) => new(Half(contextTableHpa), 0);

    /// <summary>One present half pointing to a context table (legacy CTP, or scalable LCTP/UCTP).</summary>
    /// <param name="contextTableHpa">4 KiB-aligned HPA of the context table.</param>
    /// <returns>The 64-bit half.</returns>
    public static ulong Half(ulong contextTableHpa) => (contextTableHpa & PointerMask) | PresentField.Encode(1);

    /// <summary>Half <paramref name="upper"/> (devfn 128-255) or the lower half of a scalable-mode root entry.</summary>
    /// <param name="upper">True for UP/UCTP.</param>
    /// <returns>The 64-bit half.</returns>
    public ulong Half(bool upper) => upper ? High : Low;
}
