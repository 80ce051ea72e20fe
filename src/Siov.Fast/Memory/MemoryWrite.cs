namespace Siov.Fast.Memory;

/// <summary>One logged 64-bit write to simulated memory.</summary>
/// <param name="Hpa">Address of the 8-byte entry.</param>
/// <param name="OldValue">What the entry held before.</param>
/// <param name="NewValue">What was written.</param>
/// <param name="Sequence">The write's number in the memory's write order (1, 2, ...).</param>
public readonly record struct MemoryWrite(ulong Hpa, ulong OldValue, ulong NewValue, long Sequence);
