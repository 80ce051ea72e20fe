namespace Siov.Fast.Hardware;

/// <summary>
/// A device's memory-mapped register region, as a driver sees it: reads and writes of 4 or 8 bytes at
/// offsets from the region's base. A hardware model is driven through this and through simulated physical
/// memory only (ARCHITECTURE.md, rule 1).
/// </summary>
public interface IMmioRegion
{
    /// <summary>Reads a register (or half of a 64-bit one).</summary>
    /// <param name="offset">Byte offset from the region's base, aligned to <paramref name="size"/>.</param>
    /// <param name="size">4 or 8 bytes.</param>
    /// <returns>The value, zero-extended; reserved and unimplemented offsets read 0.</returns>
    /// <exception cref="IommuException">EINVAL for a size other than 4 or 8, an unaligned offset, or one outside the region.</exception>
    ulong Read(ulong offset, int size);

    /// <summary>Writes a register (or half of a 64-bit one); what the write does is the register's behaviour
    /// (read-only bits keep their value, write-1-to-clear bits clear, commands execute).</summary>
    /// <param name="offset">Byte offset from the region's base, aligned to <paramref name="size"/>.</param>
    /// <param name="size">4 or 8 bytes.</param>
    /// <param name="value">The value; bits above <paramref name="size"/> bytes are ignored.</param>
    /// <exception cref="IommuException">EINVAL for a size other than 4 or 8, an unaligned offset, or one outside the region.</exception>
    void Write(ulong offset, int size, ulong value);
}
