namespace Siov.Fast.PageTables;

/// <summary>The outcome of a first-level walk: the status, the page and the rights the request's mode has there.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="Level">The level of the leaf, or where the walk stopped.</param>
/// <param name="PageHpa">The page's HPA (aligned to <paramref name="PageShift"/>).</param>
/// <param name="PageShift">12, 21 or 30.</param>
/// <param name="Permissions">Read always (the page is present); write when the mode may write it.</param>
/// <param name="Dirty">D in the leaf once the walk is done (a write sets it).</param>
/// <param name="Entry">The leaf, or the entry where the walk stopped.</param>
/// <param name="SecondStageStatus">For a nested walk stopped by the second stage: how that walk ended.</param>
public readonly record struct FirstLevelWalk(FirstLevelWalkStatus Status, int Level, ulong PageHpa, int PageShift, DmaProtection Permissions, bool Dirty, ulong Entry,
    WalkStatus SecondStageStatus = WalkStatus.Success)
{
    /// <summary>True when translated.</summary>
    public bool IsSuccess => Status == FirstLevelWalkStatus.Success;
}
