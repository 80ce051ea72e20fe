using Siov.Fast.Hardware;

namespace Siov.Fast.PageTables;

/// <summary>
/// The fields of a VT-d first-level paging entry (VT-d spec section 9.7, "First-Stage Paging Entries": the IA-32e
/// format of FL-PML5E, FL-PML4E, FL-PDPE, FL-PDE, FL-PTE), each defined once and used by the walker, the builder and
/// the docs.
/// </summary>
/// <remarks>
/// <code>
///  bit  0     P     present
///  bit  1     R/W   0: writes not allowed (for user requests; for supervisor requests too when WPE = 1)
///  bit  2     U/S   0: user requests not allowed
///  bits 4:3   PWT, PCD (memory type; not modelled)
///  bit  5     A     accessed: set by the hardware in every entry a translation uses
///  bit  6     D     dirty: set by the hardware in the leaf on a write (ignored in tables)
///  bit  7     PS    page size: 1 in an FL-PDE (2 MiB) or FL-PDPE (1 GiB, with CAP_REG.FL1GP); reserved in
///                   FL-PML4E and FL-PML5E; PAT in an FL-PTE
///  bits 11:8  G, ignored (bit 10 is EA, the extended accessed flag, not modelled)
///  bit  12    PAT in a 2 MiB / 1 GiB leaf; bits 20:13 / 29:13 of such a leaf are reserved
///  bits 51:12 address of the next table or the page; bits 51:HAW are reserved
///  bits 62:52 ignored
///  bit  63    XD    execute disable (honoured when the PASID entry's NXE is 1; ignored otherwise)
/// </code>
/// </remarks>
public static class FirstLevelEntry
{
    /// <summary>P, bit 0.</summary>
    public static readonly RegisterField Present = new(0, 1);

    /// <summary>R/W, bit 1.</summary>
    public static readonly RegisterField ReadWrite = new(1, 1);

    /// <summary>U/S, bit 2.</summary>
    public static readonly RegisterField UserSupervisor = new(2, 1);

    /// <summary>A, bit 5.</summary>
    public static readonly RegisterField Accessed = new(5, 1);

    /// <summary>D, bit 6 (leaves).</summary>
    public static readonly RegisterField Dirty = new(6, 1);

    /// <summary>PS, bit 7.</summary>
    public static readonly RegisterField PageSize = new(7, 1);

    /// <summary>The address, bits 51:12.</summary>
    public static readonly RegisterField Address = new(12, 40);

    /// <summary>XD, bit 63.</summary>
    public static readonly RegisterField ExecuteDisable = new(63, 1);

    /// <summary>The bits a table entry (not a leaf) is linked with by the builder: P, R/W and U/S, so the leaf alone
    /// decides write and user access, as Linux links its first-level tables.</summary>
    public static readonly ulong TableLinkBits = Present.Mask | ReadWrite.Mask | UserSupervisor.Mask;
}
