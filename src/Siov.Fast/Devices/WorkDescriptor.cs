namespace Siov.Fast.Devices;

/// <summary>
/// One work descriptor submitted to a <see cref="WorkQueue"/>: the operation and its buffers, as addresses in the work
/// queue's PASID address space (IOVAs, or a process's virtual addresses with SVA). Addresses and size are in bytes and
/// 8-byte aligned (the model moves 8-byte words).
/// </summary>
/// <param name="Operation">Move or fill.</param>
/// <param name="Source">Source address (a move).</param>
/// <param name="Destination">Destination address.</param>
/// <param name="Size">Bytes, a multiple of 8, at most 1 MiB.</param>
/// <param name="Pattern">The 8-byte pattern (a fill).</param>
public readonly record struct WorkDescriptor(WorkOperation Operation, ulong Source, ulong Destination, ulong Size, ulong Pattern = 0)
{
    /// <summary>The largest transfer one descriptor may ask for: 1 MiB.</summary>
    public const ulong MaxSize = 1UL << 20;

    /// <summary>A move of <paramref name="size"/> bytes.</summary>
    /// <param name="source">Source address.</param>
    /// <param name="destination">Destination address.</param>
    /// <param name="size">Bytes.</param>
    /// <returns>The descriptor.</returns>
    public static WorkDescriptor Move(ulong source, ulong destination, ulong size) => new(WorkOperation.MemoryMove, source, destination, size);

    /// <summary>A fill of <paramref name="size"/> bytes with <paramref name="pattern"/>.</summary>
    /// <param name="destination">Destination address.</param>
    /// <param name="size">Bytes.</param>
    /// <param name="pattern">The pattern.</param>
    /// <returns>The descriptor.</returns>
    public static WorkDescriptor Fill(ulong destination, ulong size, ulong pattern) => new(WorkOperation.Fill, 0, destination, size, pattern);
}
