namespace Siov.Fast.PageTables;

/// <summary>How a first-level walk ended (VT-d spec 3.6 and the scalable-mode fault reasons 70h-82h).</summary>
public enum FirstLevelWalkStatus : byte
{
    /// <summary>Translated; A (and D for a write) are set.</summary>
    Success = 0,

    /// <summary>70h: an entry's address is outside memory.</summary>
    AccessError,

    /// <summary>71h: P is clear.</summary>
    NotPresent,

    /// <summary>72h: a reserved bit is set (address bits at or above HAW, PS in an FL-PML4E/PML5E, a 1 GiB leaf without
    /// CAP_REG.FL1GP, the low bits of a large leaf).</summary>
    ReservedBitsSet,

    /// <summary>80h: the address is not canonical for the paging mode (bits 63:48, or 63:57 with 5 levels, must equal
    /// the bit below them).</summary>
    NotCanonical,

    /// <summary>81h: a user request met U/S = 0 in some entry.</summary>
    UserDenied,

    /// <summary>82h: an execute request met XD = 1 (NXE on), or a supervisor execute of a user page (SMEP on).</summary>
    ExecuteDenied,

    /// <summary>85h: a write met R/W = 0 in some entry (user requests; supervisor requests when WPE is on).</summary>
    WriteDenied,

    /// <summary>Nested: the second stage could not translate the GPA of a first-level table (see
    /// <see cref="FirstLevelWalk.SecondStageStatus"/>: not mapped or no read, reserved bits, beyond its width).</summary>
    NestedTableFault,

    /// <summary>Nested: setting A or D needs write permission where the second stage maps the first-level table.</summary>
    NestedTableWriteDenied,

    /// <summary>Nested: the second stage refused the first level's output GPA (see <see cref="FirstLevelWalk.SecondStageStatus"/>).</summary>
    NestedOutputFault,
}
