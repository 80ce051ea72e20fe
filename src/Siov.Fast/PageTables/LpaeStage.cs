namespace Siov.Fast.PageTables;

/// <summary>
/// One stage's configuration for <see cref="LpaeWalker"/>: the table base (TTB0 of a CD, S2TTB of an STE), the input size
/// (64 - T0SZ), the start level, the output size (the IPS or S2PS, capped by SMMU_IDR5.OAS) and whether access flag
/// faults are disabled (AFFD).
/// </summary>
/// <param name="TableBase">The first table's address.</param>
/// <param name="InputBits">Input address bits: 64 - TxSZ (25-48).</param>
/// <param name="StartLevel">The level of the first table (0-3); inputs above what that level's table covers index it
/// further (stage 2 concatenated tables).</param>
/// <param name="OutputBits">Output address bits (32-48).</param>
/// <param name="AccessFlagFaultDisable">AFFD: an entry without AF is used as if it had it.</param>
public readonly record struct LpaeStage(ulong TableBase, int InputBits, int StartLevel, int OutputBits, bool AccessFlagFaultDisable = false)
{
    /// <summary>The start level that a 4 KiB granule needs for <paramref name="inputBits"/> without concatenation.</summary>
    /// <param name="inputBits">Input address bits.</param>
    /// <returns>0-3.</returns>
    public static int StartLevelFor(int inputBits) => 4 - (inputBits - 12 + 8) / 9;
}
