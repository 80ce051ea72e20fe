using Siov.Fast.Iommu;

namespace Siov.Fast.Iommufd;

/// <summary>
/// A paging hardware page table (<c>struct iommufd_hwpt_paging</c>): an UNMANAGED IOMMU domain, owned by the context,
/// that mirrors an IOAS. Made by <see cref="IommufdContext.AllocHwpt"/> or, as an auto domain, by attaching a device to
/// an IOAS; an auto HWPT goes away with its last device.
/// </summary>
public sealed class IommufdHwptPaging : IommufdHwpt
{
    private readonly bool _auto;

    internal IommufdHwptPaging(IommufdContext context, uint id, IommufdIoas ioas, IommuDomain domain, IommufdHwptAllocOptions flags, bool auto)
        : base(context, id, domain)
    {
        Ioas = ioas;
        Flags = flags;
        _auto = auto;
    }

    /// <inheritdoc/>
    public override IommufdObjectType Type => IommufdObjectType.HwptPaging;

    /// <summary>The IOAS it mirrors.</summary>
    public IommufdIoas Ioas { get; }

    /// <summary>The allocation flags.</summary>
    public IommufdHwptAllocOptions Flags { get; }

    /// <summary>Made by an attach to an IOAS (destroyed with its last device), not by <c>IOMMU_HWPT_ALLOC</c>.</summary>
    public override bool IsAuto => _auto;

    /// <summary>
    /// <c>IOMMU_HWPT_SET_DIRTY_TRACKING</c>: the hardware starts or stops recording written pages.
    /// </summary>
    /// <param name="enabled">On or off.</param>
    /// <exception cref="IommuException">EOPNOTSUPP when the HWPT was not allocated with
    /// <see cref="IommufdHwptAllocOptions.DirtyTracking"/>; the domain's errors.</exception>
    public void SetDirtyTracking(bool enabled)
    {
        lock (Context.Lock)
        {
            Context.RequireLive(this);
            RequireDirtyTracking("IOMMU_HWPT_SET_DIRTY_TRACKING");
            bool was = Domain.DirtyTracking;
            Domain.SetDirtyTrackingAs(enabled, caller: Context);
            // Enabling starts from a clean slate (iopt_set_dirty_tracking clears what was recorded before).
            if (enabled && !was)
            {
                foreach (IoasArea area in Ioas.AreasLocked)
                    Domain.ReadAndClearDirtyAs(area.Iova, area.Length, noClear: false, caller: Context);
            }
        }
    }

    /// <summary>
    /// <c>IOMMU_HWPT_GET_DIRTY_BITMAP</c>: bit <c>i</c> of the answer is set when the page at <c>iova + i × pageSize</c> was
    /// written since the last read; the marks are cleared unless <paramref name="noClear"/>
    /// (<c>IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR</c>).
    /// </summary>
    /// <param name="iova">First IOVA, aligned to <paramref name="pageSize"/>.</param>
    /// <param name="length">Bytes, a multiple of <paramref name="pageSize"/>.</param>
    /// <param name="pageSize">The bitmap's granule: a power of two, at least 4 KiB.</param>
    /// <param name="noClear">Report without clearing.</param>
    /// <returns>The bitmap, 64 pages per word.</returns>
    /// <exception cref="IommuException">EINVAL for the arguments (checked first); E2BIG past 2^24 pages; EOPNOTSUPP without
    /// dirty tracking.</exception>
    public ulong[] GetDirtyBitmap(ulong iova, ulong length, ulong pageSize, bool noClear = false)
    {
        lock (Context.Lock)
        {
            Context.RequireLive(this);
            if (pageSize < 4096 || (pageSize & (pageSize - 1)) != 0 || length == 0 || ((iova | length) & (pageSize - 1)) != 0)
                Throw.Iommu(Errno.EINVAL, $"IOMMU_HWPT_GET_DIRTY_BITMAP: page size {Throw.Hex(pageSize)} must be a power of two of at least 4 KiB, and iova and length (not 0) multiples of it");
            ulong pages = length / pageSize;
            if (pages > 1UL << 24)
                Throw.Iommu(Errno.E2BIG, $"IOMMU_HWPT_GET_DIRTY_BITMAP: {pages} pages; at most 2^24 per call");
            RequireDirtyTracking("IOMMU_HWPT_GET_DIRTY_BITMAP"); // after the argument checks, as iommufd orders them
            ulong[] bitmap = new ulong[(pages + 63) / 64];
            foreach (PageTables.IoMapping leaf in Domain.ReadAndClearDirtyAs(iova, length, noClear, caller: Context))
            {
                ulong first = Math.Max(leaf.Iova, iova), last = Math.Min(leaf.Iova + leaf.Size - 1, iova + length - 1);
                for (ulong page = (first - iova) / pageSize; page <= (last - iova) / pageSize; page++)
                    bitmap[page / 64] |= 1UL << (int)(page % 64);
            }
            return bitmap;
        }
    }

    private void RequireDirtyTracking(string operation)
    {
        if ((Flags & IommufdHwptAllocOptions.DirtyTracking) == 0)
            Throw.Iommu(Errno.EOPNOTSUPP, $"{operation}: {this} was not allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING");
    }

    internal override void Release()
    {
        ReleaseFault();
        Ioas.RemoveHwpt(this);
        Context.Core.DomainFreeAs(Domain, caller: Context);
    }
}
