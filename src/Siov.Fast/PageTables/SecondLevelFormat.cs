namespace Siov.Fast.PageTables;

/// <summary>
/// The shape of a VT-d second-level page table: how many levels it has, which leaf sizes it
/// may use and how wide host physical addresses are. A remapping unit derives it from
/// CAP_REG (SAGAW for the levels, SLLPS for superpages) and the DMAR table's host address
/// width (VT-d spec sections 8.1 and 11.4.2).
/// </summary>
public sealed record SecondLevelFormat
{
    /// <summary>Table levels: 3 (39-bit IOVA), 4 (48-bit) or 5 (57-bit). Default 4.</summary>
    public int Levels { get; init; } = 4;

    /// <summary>Leaf sizes the table may use; must include 4 KiB. Default: 4 KiB, 2 MiB and 1 GiB.</summary>
    public PageSizes PageSizes { get; init; } = PageSizes.All;

    /// <summary>Host address width in bits (HAW, 32 to 52): HPAs at or above 2^HAW cannot be mapped, and
    /// address bits 51:HAW of an entry are reserved. Default 46, as on most Xeon platforms.</summary>
    public int HostAddressWidth { get; init; } = 46;

    /// <summary>The entry format: second level (default), first level (IA-32e; 4 or 5 levels), or AArch64 stage 1 or stage 2
    /// (3 or 4 levels, HAW at most 48).</summary>
    public PageTableStage Stage { get; init; } = PageTableStage.SecondLevel;

    /// <summary>The IOVA width in bits that <see cref="Levels"/> gives: 39, 48 or 57.</summary>
    public int AddressWidth => VtdPaging.AddressWidth(Levels);

    /// <summary>The default format: 4 levels, every leaf size, 46-bit HAW.</summary>
    public static SecondLevelFormat Default { get; } = new();

    /// <summary>Checks the fields.</summary>
    /// <exception cref="IommuException">EINVAL naming the field that is out of range.</exception>
    public void Validate()
    {
        if (Levels is < VtdPaging.MinLevels or > VtdPaging.MaxLevels)
            Throw.Iommu(Errno.EINVAL, $"Levels is {Levels}; VT-d second-level tables have 3, 4 or 5 levels");
        if ((PageSizes & PageSizes.Size4K) == 0 || (PageSizes & ~PageSizes.All) != 0)
            Throw.Iommu(Errno.EINVAL, $"PageSizes {Throw.Hex((ulong)PageSizes)} must include 4 KiB and hold only 4 KiB, 2 MiB and 1 GiB");
        if (Stage is not (PageTableStage.SecondLevel or PageTableStage.FirstLevel or PageTableStage.ArmStage1 or PageTableStage.ArmStage2))
            Throw.Iommu(Errno.EINVAL, $"Stage {(int)Stage} is none of SecondLevel, FirstLevel, ArmStage1, ArmStage2");
        if (Stage is PageTableStage.ArmStage1 or PageTableStage.ArmStage2 && Levels == 5)
            Throw.Iommu(Errno.EINVAL, "Levels is 5; AArch64 4 KiB-granule tables have at most 4 levels (48-bit input)");
        if (Stage is PageTableStage.ArmStage1 or PageTableStage.ArmStage2 && HostAddressWidth > 48)
            Throw.Iommu(Errno.EINVAL, $"HostAddressWidth is {HostAddressWidth}; AArch64 4 KiB-granule descriptors hold 48-bit output addresses");
        if (Stage == PageTableStage.FirstLevel && Levels == 3)
            Throw.Iommu(Errno.EINVAL, "Levels is 3; first-level (IA-32e) tables have 4 or 5 levels");
        if (HostAddressWidth is < 32 or > 52)
            Throw.Iommu(Errno.EINVAL, $"HostAddressWidth is {HostAddressWidth}; it must be 32 to 52 bits");
    }
}
