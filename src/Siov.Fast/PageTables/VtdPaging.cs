using System.Runtime.CompilerServices;

namespace Siov.Fast.PageTables;

/// <summary>
/// Geometry of VT-d second-level paging (VT-d spec section 3.7 "Second-Stage Translation",
/// section 9.8 "Second-Stage Paging Entries"). Level 1 is the SL-PTE (4 KiB leaves), level 2
/// the SL-PDE (2 MiB superpages), level 3 the SL-PDPE (1 GiB superpages), level 4 the
/// SL-PML4E and level 5 the SL-PML5E. Each table is one 4 KiB page of 512 64-bit entries.
/// </summary>
public static class VtdPaging
{
    /// <summary>log2 of the base page size: 4 KiB pages.</summary>
    public const int PageShift = 12;

    /// <summary>The base page size in bytes (4 KiB).</summary>
    public const ulong PageSize = 1UL << PageShift;

    /// <summary>IOVA bits consumed per level: 512 entries of 8 bytes fill one 4 KiB table.</summary>
    public const int BitsPerLevel = 9;

    /// <summary>Entries per table page (512).</summary>
    public const int EntriesPerTable = 1 << BitsPerLevel;

    /// <summary>Fewest levels a VT-d second-level table has (3 levels, 39-bit AGAW).</summary>
    public const int MinLevels = 3;

    /// <summary>Most levels a VT-d second-level table has (5 levels, 57-bit AGAW).</summary>
    public const int MaxLevels = 5;

    /// <summary>
    /// Input-address width of a table with <paramref name="levels"/> levels, in bits:
    /// 12 + 9 * 3 = 39, 12 + 9 * 4 = 48, 12 + 9 * 5 = 57 (the spec's AGAW values).
    /// </summary>
    /// <param name="levels">3, 4 or 5.</param>
    /// <returns>The adjusted guest address width in bits.</returns>
    public static int AddressWidth(int levels) => PageShift + BitsPerLevel * levels;

    /// <summary>Bit position of the IOVA field that indexes a table at <paramref name="level"/> (1 = PTE): 12, 21, 30, 39, 48.</summary>
    /// <param name="level">Level 1 to 5.</param>
    /// <returns>The shift in bits; also log2 of the size one entry at that level maps.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int LevelShift(int level) => PageShift + BitsPerLevel * (level - 1);

    /// <summary>Bytes mapped by one entry at <paramref name="level"/>: 4 KiB, 2 MiB, 1 GiB, 512 GiB, 256 TiB.</summary>
    /// <param name="level">Level 1 to 5.</param>
    /// <returns>The size in bytes.</returns>
    public static ulong EntrySpan(int level) => 1UL << LevelShift(level);

    /// <summary>Index of the entry for <paramref name="iova"/> in its table at <paramref name="level"/> (0 to 511).</summary>
    /// <param name="iova">The I/O virtual address.</param>
    /// <param name="level">Level 1 to 5.</param>
    /// <returns>The entry index.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Index(ulong iova, int level) => (int)((iova >> LevelShift(level)) & (EntriesPerTable - 1));

    /// <summary>The leaf level of a page size: 4 KiB is 1, 2 MiB is 2, 1 GiB is 3; 0 for any other size.</summary>
    /// <param name="pageSize">A page size in bytes.</param>
    /// <returns>The level, or 0.</returns>
    public static int LeafLevel(ulong pageSize) => pageSize switch
    {
        1UL << 12 => 1,
        1UL << 21 => 2,
        1UL << 30 => 3,
        _ => 0,
    };
}
