namespace Siov.Fast.Hardware.Vtd;

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
