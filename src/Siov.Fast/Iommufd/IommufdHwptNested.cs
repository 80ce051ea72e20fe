namespace Siov.Fast.Iommufd;

/// <summary>
/// A nested hardware page table (<c>struct iommufd_hwpt_nested</c>): a guest's stage-1 table (VT-d first level, its
/// pointers GPAs) over a nest-parent paging HWPT. Devices attached to it translate through both stages (PGTT 011b).
/// </summary>
public sealed class IommufdHwptNested : IommufdHwpt
{
    internal IommufdHwptNested(IommufdContext context, uint id, IommufdHwptPaging parent, Iommu.IommuDomain domain, VtdStage1 stage1)
        : base(context, id, domain)
    {
        Parent = parent;
        Stage1 = stage1;
    }

    /// <inheritdoc/>
    public override IommufdObjectType Type => IommufdObjectType.HwptNested;

    /// <summary>The nest parent (stage 2).</summary>
    public IommufdHwptPaging Parent { get; }

    /// <summary>The stage-1 data it was allocated with.</summary>
    public VtdStage1 Stage1 { get; }

    /// <summary>
    /// <c>IOMMU_HWPT_INVALIDATE</c> with one <c>iommu_hwpt_vtd_s1_invalidate</c>: the guest changed its table, the units
    /// forget <c>[address, address + pages × 4 KiB)</c> (<c>address = 0, pages = ulong.MaxValue</c>: everything).
    /// </summary>
    /// <param name="address">First IOVA, 4 KiB aligned.</param>
    /// <param name="pages">4 KiB pages.</param>
    /// <param name="leafOnly"><c>IOMMU_VTD_INV_FLAGS_LEAF</c>: only leaves changed (a hint; the model drops as much).</param>
    /// <exception cref="IommuException">EINVAL for an unaligned address, zero pages, or everything not from 0.</exception>
    public void Invalidate(ulong address, ulong pages, bool leafOnly = false)
    {
        _ = leafOnly;
        lock (Context.Lock)
        {
            Context.RequireLive(this);
            Domain.InvalidateStage1As(address, pages, caller: Context);
        }
    }

    internal override void Release()
    {
        ReleaseFault();
        Parent.Users--;
        Context.Core.DomainFreeAs(Domain, caller: Context);
    }
}
