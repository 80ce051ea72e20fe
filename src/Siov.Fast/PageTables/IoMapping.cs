namespace Siov.Fast.PageTables;

/// <summary>One leaf mapping of an I/O page table: <c>[Iova, Iova + Size)</c> maps to <c>[Hpa, Hpa + Size)</c>.</summary>
/// <param name="Iova">First IOVA of the leaf; aligned to <paramref name="Size"/>.</param>
/// <param name="Hpa">HPA the leaf maps to; aligned to <paramref name="Size"/>.</param>
/// <param name="Size">Leaf size in bytes: 4 KiB, 2 MiB or 1 GiB.</param>
/// <param name="Protection">The leaf's R/W bits.</param>
public readonly record struct IoMapping(ulong Iova, ulong Hpa, ulong Size, DmaProtection Protection);
