using Siov.Fast.Hardware;

namespace Siov.Fast.Ats;

/// <summary>
/// The PCIe ATS encoding of a naturally aligned range of 2^n bytes (n at least 12) in an address word: bits 63:12 the
/// address, and the S bit. With S clear the range is the 4 KiB page at the address. With S set, the lowest clear bit
/// at or above bit 12 names the size: bit 12 clear is 8 KiB, bits 12 set and 13 clear is 16 KiB, and so on; every bit
/// set is the whole address space. Translation completions and invalidation requests use the same encoding.
/// </summary>
public static class AtsAddressRange
{
    /// <summary>Address bits 63:12.</summary>
    public static readonly RegisterField AddressField = new(12, 52);

    /// <summary>The largest size shift: the whole 64-bit address space.</summary>
    public const int WholeSpaceShift = 64;

    /// <summary>Encodes a range as address bits (63:12) and S.</summary>
    /// <param name="address">First byte of the range; aligned to its size.</param>
    /// <param name="sizeShift">log2 of the range's bytes, 12 to 64.</param>
    /// <returns>The address bits (low 12 bits zero) and whether S is set.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size shift outside 12-64, or an address not aligned to the size.</exception>
    public static (ulong AddressBits, bool Size) Encode(ulong address, int sizeShift)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sizeShift, 12);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sizeShift, WholeSpaceShift);
        if (sizeShift == 12)
        {
            if ((address & 0xFFF) != 0)
                throw new ArgumentOutOfRangeException(nameof(address), $"{Throw.Hex(address)} is not 4 KiB aligned");
            return (address, false);
        }
        if (sizeShift == WholeSpaceShift)
            return (AddressField.Mask, true);
        if ((address & ((1UL << sizeShift) - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(address), $"{Throw.Hex(address)} is not aligned to 2^{sizeShift} bytes");
        // Ones from bit 12 up to bit sizeShift - 2; bit sizeShift - 1 stays clear (the address is aligned).
        return (address | ((1UL << (sizeShift - 1)) - 1) & ~0xFFFUL, true);
    }

    /// <summary>Decodes address bits (63:12) and S into the range's first byte and size.</summary>
    /// <param name="addressBits">A word whose bits 63:12 are the encoded address (lower bits are ignored).</param>
    /// <param name="size">The S bit.</param>
    /// <returns>The first byte and log2 of the size (12 to 64; 64 for the whole address space, whose first byte is 0).</returns>
    public static (ulong Address, int SizeShift) Decode(ulong addressBits, bool size)
    {
        ulong address = addressBits & AddressField.Mask;
        if (!size)
            return (address, 12);
        int ones = System.Numerics.BitOperations.TrailingZeroCount(~(address >> 12));
        int shift = 13 + ones;
        if (shift >= WholeSpaceShift)
            return (0, WholeSpaceShift);
        return (address & ~((1UL << shift) - 1), shift);
    }
}
