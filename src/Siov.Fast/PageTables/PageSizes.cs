namespace Siov.Fast.PageTables;

/// <summary>
/// Page sizes as a bitmap whose bits are the sizes themselves, like the kernel's
/// <c>pgsize_bitmap</c>: bit 12 is 4 KiB, bit 21 is 2 MiB, bit 30 is 1 GiB. The superpage
/// sizes a remapping unit supports come from CAP_REG.SLLPS (VT-d spec section 11.4.2).
/// </summary>
[Flags]
public enum PageSizes : ulong
{
    /// <summary>No page size.</summary>
    None = 0,

    /// <summary>4 KiB pages (SL-PTE leaves); always supported.</summary>
    Size4K = 1UL << 12,

    /// <summary>2 MiB superpages (SL-PDE leaves with PS = 1); CAP_REG.SLLPS bit 0.</summary>
    Size2M = 1UL << 21,

    /// <summary>1 GiB superpages (SL-PDPE leaves with PS = 1); CAP_REG.SLLPS bit 1.</summary>
    Size1G = 1UL << 30,

    /// <summary>Every size VT-d second-level paging has.</summary>
    All = Size4K | Size2M | Size1G,
}
