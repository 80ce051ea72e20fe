namespace Siov.Fast.PageTables;

/// <summary>How a second-level page walk ended.</summary>
public enum WalkStatus : byte
{
    /// <summary>A present leaf was found and the access is allowed.</summary>
    Success = 0,

    /// <summary>The entry at <see cref="WalkResult.Level"/> has R = W = 0. VT-d reports it as fault
    /// reason 6 (read) or 5 (write) in legacy mode.</summary>
    NotPresent,

    /// <summary>The leaf is present but the effective permission (AND of R over all levels) lacks read.
    /// VT-d legacy fault reason 6, "PTE Read access is not set".</summary>
    ReadDenied,

    /// <summary>The leaf is present but the effective permission lacks write.
    /// VT-d legacy fault reason 5, "PTE Write access is not set".</summary>
    WriteDenied,

    /// <summary>The entry at <see cref="WalkResult.Level"/> has a reserved bit set (bit 11, bit 62,
    /// address bits at or above HAW, PS where that leaf size is not supported, or low address
    /// bits of a superpage). VT-d legacy fault reason 0Ch.</summary>
    ReservedBitsSet,

    /// <summary>The IOVA has bits at or above the table's address width. VT-d legacy fault reason 4,
    /// "Access beyond MGAW".</summary>
    AddressBeyondWidth,

    /// <summary>The table page for <see cref="WalkResult.Level"/> lies outside simulated memory (the entry
    /// above it, or the root pointer, is bad; <see cref="WalkResult.Entry"/> holds that pointer).
    /// VT-d legacy fault reason 7, "Next page table ptr is invalid".</summary>
    InvalidTablePointer,
}

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

/// <summary>One leaf mapping of an I/O page table: <c>[Iova, Iova + Size)</c> maps to <c>[Hpa, Hpa + Size)</c>.</summary>
/// <param name="Iova">First IOVA of the leaf; aligned to <paramref name="Size"/>.</param>
/// <param name="Hpa">HPA the leaf maps to; aligned to <paramref name="Size"/>.</param>
/// <param name="Size">Leaf size in bytes: 4 KiB, 2 MiB or 1 GiB.</param>
/// <param name="Protection">The leaf's R/W bits.</param>
public readonly record struct IoMapping(ulong Iova, ulong Hpa, ulong Size, DmaProtection Protection);
