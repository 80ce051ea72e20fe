using System.Runtime.CompilerServices;

namespace Siov.Fast.PageTables;

/// <summary>
/// One 64-bit VT-d second-level paging entry (VT-d spec section 9.8, "Second-Stage Paging
/// Entries": SL-PML5E, SL-PML4E, SL-PDPE, SL-PDE, SL-PTE).
/// </summary>
/// <remarks>
/// <code>
///  bit  0     R    read permission; an entry with R = W = 0 is not present
///  bit  1     W    write permission
///  bit  2     X    execute (not modelled: ignored)
///  bits 6:3   EMT/IPAT in leaves, ignored in tables (not modelled)
///  bit  7     PS   page size: 1 in an SL-PDE/SL-PDPE makes it a 2 MiB/1 GiB leaf;
///                  reserved in SL-PML4E/SL-PML5E; ignored in an SL-PTE
///  bit  8     A    accessed: set by the hardware when the PASID entry's SLADE is 1 (dirty tracking)
///  bit  9     D    dirty: set by the hardware in the leaf on a write when SLADE is 1
///  bit  10    ignored
///  bit  11    reserved (must be 0)
///  bits 51:12 address of the next table or of the page (bits below the page size are
///             reserved in a superpage leaf; bits 51:HAW are reserved)
///  bits 61:52 ignored
///  bit  62    reserved (was TM)
///  bit  63    ignored
/// </code>
/// Tables are linked with R = W = 1, as the Linux VT-d driver does, so the effective
/// permission of a translation (the AND of R/W over every level) is the leaf's.
/// </remarks>
public readonly struct SecondLevelEntry : IEquatable<SecondLevelEntry>
{
    /// <summary>R: read permission (bit 0).</summary>
    public const ulong ReadBit = 1UL << 0;

    /// <summary>W: write permission (bit 1).</summary>
    public const ulong WriteBit = 1UL << 1;

    /// <summary>PS: page size (bit 7); a superpage leaf in an SL-PDE or SL-PDPE.</summary>
    public const ulong PageSizeBit = 1UL << 7;

    /// <summary>A: accessed (bit 8), set by the hardware with SLADE.</summary>
    public const ulong AccessedBit = 1UL << 8;
    /// <summary>D: dirty (bit 9), set by the hardware in a leaf on a write with SLADE.</summary>
    public const ulong DirtyBit = 1UL << 9;
    /// <summary>Bit 11: reserved, must be zero in every level.</summary>
    public const ulong Reserved11 = 1UL << 11;

    /// <summary>Bit 62: reserved, must be zero in every level.</summary>
    public const ulong Reserved62 = 1UL << 62;

    /// <summary>Address field, bits 51:12.</summary>
    public const ulong AddressMask = 0x000F_FFFF_FFFF_F000UL;

    /// <summary>Wraps a raw entry value.</summary>
    /// <param name="value">The 64-bit entry as stored in memory.</param>
    public SecondLevelEntry(ulong value) => Value = value;

    /// <summary>The raw 64-bit value.</summary>
    public ulong Value { get; }

    /// <summary>True when R or W is set (VT-d second-level entries have no separate present bit).</summary>
    public bool IsPresent => (Value & (ReadBit | WriteBit)) != 0;

    /// <summary>True when the PS bit (7) is set.</summary>
    public bool IsPageSize => (Value & PageSizeBit) != 0;

    /// <summary>The R and W bits as a protection.</summary>
    public DmaProtection Protection => (DmaProtection)(Value & (ReadBit | WriteBit));

    /// <summary>The address field (bits 51:12): the next table's HPA, or the page's HPA in a leaf.</summary>
    public ulong Address => Value & AddressMask;

    /// <summary>Builds a non-leaf entry that points to the table page at <paramref name="tableHpa"/> with R = W = 1.</summary>
    /// <param name="tableHpa">HPA of the next-level table; 4 KiB aligned, below 2^52.</param>
    /// <returns>The entry.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static SecondLevelEntry Table(ulong tableHpa) => new((tableHpa & AddressMask) | ReadBit | WriteBit);

    /// <summary>Builds a leaf entry mapping the page at <paramref name="pageHpa"/>.</summary>
    /// <param name="pageHpa">HPA of the page; aligned to the page size.</param>
    /// <param name="protection">R and/or W.</param>
    /// <param name="superpage">True for a 2 MiB or 1 GiB leaf (sets PS); false for a 4 KiB SL-PTE.</param>
    /// <returns>The entry.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static SecondLevelEntry Leaf(ulong pageHpa, DmaProtection protection, bool superpage)
        => new((pageHpa & AddressMask) | ((ulong)protection & (ReadBit | WriteBit)) | (superpage ? PageSizeBit : 0));

    /// <inheritdoc/>
    public bool Equals(SecondLevelEntry other) => Value == other.Value;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is SecondLevelEntry other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Value.GetHashCode();

    /// <summary>Compares two entries by value.</summary>
    /// <param name="left">One entry.</param>
    /// <param name="right">The other.</param>
    /// <returns>True when the raw values are equal.</returns>
    public static bool operator ==(SecondLevelEntry left, SecondLevelEntry right) => left.Equals(right);

    /// <summary>Compares two entries by value.</summary>
    /// <param name="left">One entry.</param>
    /// <param name="right">The other.</param>
    /// <returns>True when the raw values differ.</returns>
    public static bool operator !=(SecondLevelEntry left, SecondLevelEntry right) => !left.Equals(right);

    /// <summary>The raw value in hex with its decoded flags, e.g. <c>0x12345003 [R W]</c>.</summary>
    /// <returns>A diagnostic string.</returns>
    public override string ToString() =>
        $"{Throw.Hex(Value)} [{((Value & ReadBit) != 0 ? "R" : "-")}{((Value & WriteBit) != 0 ? "W" : "-")}{(IsPageSize ? " PS" : "")}]";
}
