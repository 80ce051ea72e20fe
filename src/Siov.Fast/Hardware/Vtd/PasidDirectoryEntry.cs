namespace Siov.Fast.Hardware.Vtd;

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
