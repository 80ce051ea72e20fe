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
