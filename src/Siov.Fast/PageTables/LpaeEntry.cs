using Siov.Fast.Hardware;

namespace Siov.Fast.PageTables;

/// <summary>
/// The fields of an AArch64 VMSAv8-64 translation table descriptor with the 4 KiB granule (Arm ARM D8, "Translation
/// table descriptor formats"), as an SMMUv3 walks them for stage 1 and stage 2. Bits 1:0: 00 or 10 invalid, 01 a block
/// (levels 1 and 2), 11 a table (levels 0-2) or a page (level 3). Each field is defined once here.
/// </summary>
public static class LpaeEntry
{
    /// <summary>Valid, bit 0.</summary>
    public static readonly RegisterField Valid = new(0, 1);

    /// <summary>Bit 1: 1 for a table descriptor (levels 0-2) or a page descriptor (level 3); 0 for a block.</summary>
    public static readonly RegisterField TableOrPage = new(1, 1);

    /// <summary>Stage 1 AttrIndx, bits 4:2 (an index into MAIR; not modelled).</summary>
    public static readonly RegisterField AttrIndex = new(2, 3);

    /// <summary>Stage 1 AP[2:1], bits 7:6: AP[1] (bit 6) unprivileged access allowed; AP[2] (bit 7) read-only.</summary>
    public static readonly RegisterField AccessPermissions = new(6, 2);

    /// <summary>Stage 2 MemAttr, bits 5:2 (not modelled).</summary>
    public static readonly RegisterField Stage2MemoryAttributes = new(2, 4);

    /// <summary>Stage 2 S2AP, bits 7:6: bit 6 read allowed, bit 7 write allowed.</summary>
    public static readonly RegisterField Stage2AccessPermissions = new(6, 2);

    /// <summary>Shareability, bits 9:8 (not modelled).</summary>
    public static readonly RegisterField Shareability = new(8, 2);

    /// <summary>AF, bit 10: the access flag; a translation through an entry without it faults (F_ACCESS) unless the
    /// configuration disables access flag faults (CD.AFFD, STE.S2AFFD).</summary>
    public static readonly RegisterField AccessFlag = new(10, 1);

    /// <summary>nG, bit 11: not global (stage 1).</summary>
    public static readonly RegisterField NotGlobal = new(11, 1);

    /// <summary>The output address of a page or block, or the next table's address: bits 47:12.</summary>
    public static readonly RegisterField OutputAddress = new(12, 36);

    /// <summary>Contiguous hint, bit 52.</summary>
    public static readonly RegisterField Contiguous = new(52, 1);

    /// <summary>Stage 1 PXN, bit 53: no execution at privileged level.</summary>
    public static readonly RegisterField PrivilegedExecuteNever = new(53, 1);

    /// <summary>Stage 1 UXN/XN, bit 54: no execution at unprivileged level.</summary>
    public static readonly RegisterField ExecuteNever = new(54, 1);

    /// <summary>Stage 2 XN, bits 54:53: any non-zero value forbids execution here (the model does not tell EL0 from EL1).</summary>
    public static readonly RegisterField Stage2ExecuteNever = new(53, 2);

    /// <summary>Stage 1 table descriptor PXNTable, bit 59.</summary>
    public static readonly RegisterField PrivilegedExecuteNeverTable = new(59, 1);

    /// <summary>Stage 1 table descriptor XNTable, bit 60.</summary>
    public static readonly RegisterField ExecuteNeverTable = new(60, 1);

    /// <summary>Stage 1 table descriptor APTable, bits 62:61: bit 61 forbids unprivileged access below, bit 62 writes.</summary>
    public static readonly RegisterField AccessPermissionsTable = new(61, 2);

    /// <summary>The address mask of an output or next-table address (bits 47:12).</summary>
    public static ulong AddressMask => OutputAddress.Mask;

    /// <summary>A table descriptor pointing at <paramref name="nextTable"/>.</summary>
    /// <param name="nextTable">The next level's table, 4 KiB aligned.</param>
    /// <returns>The descriptor (valid, table, no APTable/XNTable restrictions).</returns>
    public static ulong Table(ulong nextTable) => (nextTable & AddressMask) | Valid.Encode(1) | TableOrPage.Encode(1);

    /// <summary>A stage 1 leaf: a page (level 3) or a block (levels 1-2) with AF set and the permissions asked for.</summary>
    /// <param name="output">The output address (aligned to the leaf's size).</param>
    /// <param name="level">1, 2 or 3.</param>
    /// <param name="writable">AP[2] clear.</param>
    /// <param name="unprivileged">AP[1] set: unprivileged (user) transactions may use it.</param>
    /// <param name="executable">UXN and PXN clear.</param>
    /// <returns>The descriptor.</returns>
    public static ulong Stage1Leaf(ulong output, int level, bool writable, bool unprivileged = true, bool executable = false) =>
        (output & AddressMask) | Valid.Encode(1) | TableOrPage.Encode(level == 3 ? 1UL : 0) | AccessFlag.Encode(1)
        | AccessPermissions.Encode((writable ? 0UL : 2UL) | (unprivileged ? 1UL : 0))
        | (executable ? 0 : ExecuteNever.Mask | PrivilegedExecuteNever.Mask);

    /// <summary>A stage 2 leaf with AF set and S2AP from <paramref name="protection"/>.</summary>
    /// <param name="output">The output address (aligned to the leaf's size).</param>
    /// <param name="level">1, 2 or 3.</param>
    /// <param name="protection">Read and write.</param>
    /// <returns>The descriptor.</returns>
    public static ulong Stage2Leaf(ulong output, int level, DmaProtection protection) =>
        (output & AddressMask) | Valid.Encode(1) | TableOrPage.Encode(level == 3 ? 1UL : 0) | AccessFlag.Encode(1)
        | Stage2AccessPermissions.Encode((ulong)protection & 3) | Stage2ExecuteNever.Encode(2);
}
