using Siov.Fast.PageTables;

namespace Siov.Fast.Iommu;

/// <summary>Settings of an <see cref="IommuCore"/>.</summary>
public sealed record IommuCoreOptions
{
    /// <summary>Type of the default domain each group gets when its first PCI device joins: DMA (the
    /// kernel's default, <c>iommu.passthrough=0</c>) or IDENTITY (<c>iommu.passthrough=1</c>; falls back
    /// to DMA on a unit without ECAP_REG.PT). Default DMA.</summary>
    public IommuDomainType DefaultDomainType { get; init; } = IommuDomainType.Dma;

    /// <summary>Width of the global PASID space (the kernel's is 20 bits: PASIDs 1 to 2^20 - 1; 0 is
    /// RID_PASID). Smaller values make exhaustion easy to reach in tests. 1 to 20; default 20.</summary>
    public int PasidBits { get; init; } = 20;

    /// <summary>Most domains allocated with <see cref="IommuCore.DomainAlloc"/> that may be alive at once (groups'
    /// default domains do not count); one more is ENOSPC. At least 1; default <see cref="int.MaxValue"/>.</summary>
    public int MaxDomains { get; init; } = int.MaxValue;

    /// <summary>Most 4 KiB page-table pages the table of any paging domain (groups' default domains included)
    /// may hold, its top-level page included (<see cref="SecondLevelPageTable.TablePageLimit"/>); a map that needs
    /// more is ENOSPC, so that one domain cannot take every frame of the shared memory. At least 1; default
    /// <see cref="int.MaxValue"/>.</summary>
    public int MaxTablePagesPerDomain { get; init; } = int.MaxValue;

    /// <summary>The defaults.</summary>
    public static IommuCoreOptions Default { get; } = new();
}
