namespace Siov.Fast.PageTables;

/// <summary>
/// The outcome of a second-level page walk: the leaf (HPA, page size, effective permissions)
/// or a structured fault saying at which level the walk stopped and why.
/// </summary>
public readonly struct WalkResult
{
    internal WalkResult(WalkStatus status, int level, ulong hpa, ulong pageSize, DmaProtection permissions, ulong entry)
    {
        Status = status;
        Level = level;
        Hpa = hpa;
        PageSize = pageSize;
        Permissions = permissions;
        Entry = entry;
    }

    /// <summary>How the walk ended.</summary>
    public WalkStatus Status { get; }

    /// <summary>True when <see cref="Status"/> is <see cref="WalkStatus.Success"/>.</summary>
    public bool IsSuccess => Status == WalkStatus.Success;

    /// <summary>The level at which the walk stopped: the leaf's level (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB)
    /// when a leaf was reached, else the level of the faulting entry (the top level for
    /// <see cref="WalkStatus.AddressBeyondWidth"/>).</summary>
    public int Level { get; }

    /// <summary>The translated HPA, page offset included, when a leaf was reached (also for a
    /// permission fault); 0 otherwise.</summary>
    public ulong Hpa { get; }

    /// <summary>Size in bytes of the leaf page (4 KiB, 2 MiB or 1 GiB) when a leaf was reached; 0 otherwise.</summary>
    public ulong PageSize { get; }

    /// <summary>Effective permissions: the AND of R and W over every level walked (meaningful once a leaf was reached).</summary>
    public DmaProtection Permissions { get; }

    /// <summary>The raw entry at which the walk stopped (the leaf, or the faulting entry); 0 for an out-of-width IOVA.</summary>
    public ulong Entry { get; }

    /// <summary>The HPA of the start of the leaf page.</summary>
    public ulong PageHpa => Hpa & ~(PageSize - 1);

    /// <inheritdoc/>
    public override string ToString() => IsSuccess
        ? $"{Throw.Hex(Hpa)} ({PageSize >> 10} KiB page, {Permissions})"
        : $"{Status} at level {Level} (entry {Throw.Hex(Entry)})";
}
