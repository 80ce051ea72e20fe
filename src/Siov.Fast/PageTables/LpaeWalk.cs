namespace Siov.Fast.PageTables;

/// <summary>The outcome of an AArch64 walk (stage 1, stage 2, or both nested).</summary>
/// <param name="Status">How it ended.</param>
/// <param name="Level">The leaf's level, or where the walk stopped (0-3).</param>
/// <param name="OutputPage">The page's output address (aligned to <paramref name="PageShift"/>); for nesting, the final
/// physical address of the page.</param>
/// <param name="PageShift">12, 21 or 30 (for nesting the smaller of the two stages' leaves).</param>
/// <param name="Permissions">Read and write the request's mode has there (both stages for nesting).</param>
/// <param name="SecondStage">The fault came from stage 2 (of a nested walk, or a stage-2-only one).</param>
/// <param name="TableWalk">The fault came while stage 2 translated a stage 1 table address (CLASS = TT).</param>
/// <param name="FaultAddress">For a stage 2 fault of a nested walk: the IPA stage 2 was asked for.</param>
public readonly record struct LpaeWalk(LpaeWalkStatus Status, int Level, ulong OutputPage, int PageShift, DmaProtection Permissions,
    bool SecondStage = false, bool TableWalk = false, ulong FaultAddress = 0)
{
    /// <summary>True when translated.</summary>
    public bool IsSuccess => Status == LpaeWalkStatus.Success;
}
