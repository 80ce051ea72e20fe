using Siov.Fast.Iommu;

namespace Siov.Fast.Iommufd;

/// <summary>A hardware page table (<c>struct iommufd_hw_pagetable</c>): an IOMMU domain devices attach to, paging
/// (<see cref="IommufdHwptPaging"/>) or nested (<see cref="IommufdHwptNested"/>).</summary>
public abstract class IommufdHwpt : IommufdObject
{
    private protected IommufdHwpt(IommufdContext context, uint id, IommuDomain domain) : base(context, id) => Domain = domain;

    /// <summary>The IOMMU domain (owned by the context: the object model's callers cannot change it).</summary>
    public IommuDomain Domain { get; }

    /// <summary>Made by an attach to an IOAS and destroyed with its last device (paging HWPTs only).</summary>
    public virtual bool IsAuto => false;
}
