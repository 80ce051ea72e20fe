namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// A 64-bit scalable-mode PASID directory entry (VT-d spec section 9.5), indexed by PASID[19:6]:
/// <see cref="PresentField"/>, <see cref="FaultProcessingDisableField"/>, <see cref="ReservedField"/>, and SMPTBLPTR
/// (<see cref="RootEntry.PointerField"/>: a 4 KiB PASID table of 64 entries).
/// </summary>
/// <param name="Value">The entry.</param>
public readonly record struct PasidDirectoryEntry(ulong Value)
{
    /// <summary>Size of an entry in bytes.</summary>
    public const int Size = 8;

    /// <summary>P, bit 0.</summary>
    public static readonly RegisterField PresentField = new(0, 1);

    /// <summary>FPD, bit 1.</summary>
    public static readonly RegisterField FaultProcessingDisableField = new(1, 1);

    /// <summary>Bits 11:2: reserved.</summary>
    public static readonly RegisterField ReservedField = new(2, 10);

    /// <summary>Reserved bits 11:2, in place.</summary>
    public static readonly ulong ReservedBits = ReservedField.Mask;

    /// <summary>P: present.</summary>
    public bool IsPresent => PresentField.IsSet(Value);

    /// <summary>FPD: fault processing disable.</summary>
    public bool FaultProcessingDisable => FaultProcessingDisableField.IsSet(Value);

    /// <summary>SMPTBLPTR: the PASID table.</summary>
    public ulong PasidTable => Value & RootEntry.PointerMask;

    /// <summary>A present entry pointing to a PASID table.</summary>
    /// <param name="pasidTableHpa">4 KiB-aligned HPA.</param>
    /// <returns>The entry.</returns>
    public static PasidDirectoryEntry Create(ulong pasidTableHpa) => new((pasidTableHpa & RootEntry.PointerMask) | PresentField.Encode(1));
}
