namespace Siov.Fast.Platforms;

/// <summary>A memory range descriptor of an RMR node (ARM DEN 0049E.e, "Memory Range Descriptor"): 20 bytes,
/// Physical Range offset 0-7, Physical Range length 8-15, Reserved 16-19.</summary>
/// <param name="Offset">Byte offset of the descriptor in the table.</param>
/// <param name="Base">Physical base address of the range (64 KiB aligned in a valid table).</param>
/// <param name="Length">Length of the range in bytes (a multiple of 64 KiB in a valid table).</param>
public sealed record IortMemoryRange(int Offset, ulong Base, ulong Length);
