namespace Siov.Fast.Platforms;

/// <summary>A subtable whose type the parser does not know: skipped by its length, never fatal.</summary>
/// <param name="Type">The subtable type as the table gives it.</param>
/// <param name="Offset">Byte offset of the subtable in the table.</param>
/// <param name="Length">The subtable's length in bytes.</param>
public sealed record SkippedSubtable(int Type, int Offset, int Length);
