namespace Siov.Fast.Iommufd;

/// <summary>
/// An I/O address space (<c>struct iommufd_ioas</c>, its <c>io_pagetable</c>): the areas mapped in it, the IOVAs it may
/// hand out, and the paging HWPTs that mirror it. Every map and unmap reaches each such HWPT's domain, all or nothing.
/// Calls take the context's lock; errors are <see cref="IommuException"/> with iommufd's errno and change nothing.
/// </summary>
public sealed class IommufdIoas : IommufdObject
{
    private const ulong PageSize = 4096;
    private readonly SortedDictionary<ulong, IoasArea> _areas = [];
    private readonly List<IommufdHwptPaging> _hwpts = [];
    private List<IovaRange>? _allowed; // null: every IOVA of the aperture

    internal IommufdIoas(IommufdContext context, uint id) : base(context, id)
    {
    }

    /// <inheritdoc/>
    public override IommufdObjectType Type => IommufdObjectType.Ioas;

    /// <summary>The areas, in IOVA order.</summary>
    public IReadOnlyList<IoasArea> Areas
    {
        get
        {
            lock (Context.Lock)
                return [.. _areas.Values];
        }
    }

    /// <summary>How many areas the IOAS holds (without listing them).</summary>
    public int AreaCount
    {
        get
        {
            lock (Context.Lock)
                return _areas.Count;
        }
    }

    internal IReadOnlyList<IommufdHwptPaging> Hwpts => _hwpts;

    /// <summary>The areas, for a caller holding the context's lock.</summary>
    internal IEnumerable<IoasArea> AreasLocked => _areas.Values;

    /// <summary>The IOVAs a domain of this model can translate: 48 bits (4-level tables).</summary>
    public static IovaRange Aperture => new(0, (1UL << 48) - 1);

    /// <summary>
    /// <c>IOMMU_IOAS_MAP</c>: maps <paramref name="length"/> bytes at <paramref name="hpa"/>, at <paramref name="iova"/> when
    /// given (<c>IOMMU_IOAS_MAP_FIXED_IOVA</c>) or at the lowest free, allowed, 4 KiB-aligned IOVA that fits.
    /// </summary>
    /// <param name="iova">The IOVA, or null to let the IOAS choose.</param>
    /// <param name="hpa">First HPA (4 KiB aligned).</param>
    /// <param name="length">Bytes (a multiple of 4 KiB, not 0).</param>
    /// <param name="protection">Read and/or write (at least one).</param>
    /// <returns>The IOVA mapped.</returns>
    /// <exception cref="IommuException">EINVAL for a zero or unaligned length or address, or no access; EEXIST when a fixed
    /// IOVA overlaps an area; EINVAL for a fixed IOVA beyond the aperture (the allowed ranges do not bind a fixed IOVA, as
    /// in iommufd); ENOSPC when no free allowed range fits; a HWPT's own error (nothing is left mapped anywhere).</exception>
    public ulong Map(ulong? iova, ulong hpa, ulong length, DmaProtection protection)
    {
        lock (Context.Lock)
        {
            Context.RequireLive(this);
            if (length == 0 || (length & (PageSize - 1)) != 0 || (hpa & (PageSize - 1)) != 0 || (iova is ulong v && (v & (PageSize - 1)) != 0))
                Throw.Iommu(Errno.EINVAL, $"IOMMU_IOAS_MAP: iova, hpa and length must be 4 KiB aligned and length not 0 (length {Throw.Hex(length)})");
            if ((protection & DmaProtection.ReadWrite) == 0 || (protection & ~DmaProtection.ReadWrite) != 0)
                Throw.Iommu(Errno.EINVAL, "IOMMU_IOAS_MAP: the access must be IOMMU_IOAS_MAP_READ, _WRITE or both");
            ulong at;
            if (iova is ulong fixedIova)
            {
                if (fixedIova > ulong.MaxValue - (length - 1))
                    Throw.Iommu(Errno.EINVAL, $"IOMMU_IOAS_MAP: [{Throw.Hex(fixedIova)}, +{Throw.Hex(length)}) wraps");
                if (Overlapping(fixedIova, fixedIova + length - 1) is IoasArea taken)
                    Throw.Iommu(Errno.EEXIST, $"IOMMU_IOAS_MAP: [{Throw.Hex(fixedIova)}, +{Throw.Hex(length)}) overlaps the area at {Throw.Hex(taken.Iova)}");
                // The allowed ranges steer only the IOAS's own choice (iopt_check_iova checks reserved ranges alone).
                if (fixedIova + length - 1 > Aperture.Last)
                    Throw.Iommu(Errno.EINVAL, $"IOMMU_IOAS_MAP: [{Throw.Hex(fixedIova)}, +{Throw.Hex(length)}) is beyond the {BitOperationsLog2(Aperture.Last + 1)}-bit aperture");
                at = fixedIova;
            }
            else
            {
                at = Allocate(length);
            }
            var area = new IoasArea(at, hpa, length, protection);
            MapIntoHwpts(area, 0);
            _areas.Add(at, area);
            return at;
        }
    }

    /// <summary>
    /// <c>IOMMU_IOAS_UNMAP</c>: removes every area inside <c>[iova, iova + length)</c>; an area cut by the range's ends is
    /// refused. <c>iova = 0, length = ulong.MaxValue</c> unmaps everything.
    /// </summary>
    /// <param name="iova">First IOVA.</param>
    /// <param name="length">Bytes.</param>
    /// <returns>The bytes unmapped (<c>out_length</c>).</returns>
    /// <exception cref="IommuException">ENOENT when no area lies in the range or the range cuts an area (nothing is unmapped
    /// then; <c>iopt_unmap_iova_range</c>); EINVAL for a zero length. Unmapping everything of an empty IOAS answers 0.</exception>
    public ulong Unmap(ulong iova, ulong length)
    {
        lock (Context.Lock)
        {
            Context.RequireLive(this);
            bool all = iova == 0 && length == ulong.MaxValue;
            if (length == 0)
                Throw.Iommu(Errno.EINVAL, "IOMMU_IOAS_UNMAP: length is 0");
            ulong last = all ? ulong.MaxValue : (iova > ulong.MaxValue - (length - 1) ? ulong.MaxValue : iova + length - 1);
            List<IoasArea> hit = [.. _areas.Values.Where(a => a.Iova <= last && a.Last >= iova)];
            if (!all && hit.Find(a => a.Iova < iova || a.Last > last) is { Length: > 0 } cut)
                Throw.Iommu(Errno.ENOENT, $"IOMMU_IOAS_UNMAP: [{Throw.Hex(iova)}, +{Throw.Hex(length)}) cuts the area [{Throw.Hex(cut.Iova)}, +{Throw.Hex(cut.Length)}); an area is unmapped whole");
            if (hit.Count == 0 && !all)
                Throw.Iommu(Errno.ENOENT, $"IOMMU_IOAS_UNMAP: nothing is mapped in [{Throw.Hex(iova)}, +{Throw.Hex(length)})");
            ulong bytes = 0;
            foreach (IoasArea area in hit)
            {
                foreach (IommufdHwptPaging hwpt in _hwpts)
                    hwpt.Domain.UnmapAs(area.Iova, area.Length, caller: Context);
                _areas.Remove(area.Iova);
                bytes += area.Length;
            }
            return bytes;
        }
    }

    /// <summary>
    /// <c>IOMMU_IOAS_COPY</c>: maps into this IOAS the memory that <paramref name="source"/> maps at
    /// <c>[sourceIova, sourceIova + length)</c> (a part of an area, or several contiguous areas).
    /// </summary>
    /// <param name="source">The IOAS to copy from (may be this one).</param>
    /// <param name="sourceIova">First IOVA there.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="iova">Where to map here, or null to let this IOAS choose.</param>
    /// <param name="protection">The new mappings' access.</param>
    /// <returns>The IOVA mapped here.</returns>
    /// <exception cref="IommuException">ENOENT when contiguous areas do not cover the source range; EPERM for write access to
    /// pages the source maps read-only; EINVAL for a zero length; as <see cref="Map"/>.</exception>
    public ulong Copy(IommufdIoas source, ulong sourceIova, ulong length, ulong? iova, DmaProtection protection)
    {
        ArgumentNullException.ThrowIfNull(source);
        lock (Context.Lock)
        {
            Context.RequireLive(source);
            if (length == 0)
                Throw.Iommu(Errno.EINVAL, "IOMMU_IOAS_COPY: length is 0");
            // The source pages, piece by piece: contiguous areas must cover the range (sub-ranges of an area are fine).
            var pieces = new List<(ulong Hpa, ulong Length, DmaProtection Protection)>();
            ulong next = sourceIova, end = sourceIova + length - 1;
            foreach (IoasArea area in source._areas.Values)
            {
                if (area.Last < next)
                    continue;
                if (area.Iova > next)
                    break;
                ulong take = Math.Min(area.Last, end) - next + 1;
                pieces.Add((area.Hpa + (next - area.Iova), take, area.Protection));
                next += take;
                if (next - 1 == end)
                    break;
            }
            if (next - 1 != end || pieces.Count == 0)
                Throw.Iommu(Errno.ENOENT, $"IOMMU_IOAS_COPY: areas of {source} do not cover [{Throw.Hex(sourceIova)}, +{Throw.Hex(length)})");
            if ((protection & DmaProtection.Write) != 0 && pieces.Exists(p => (p.Protection & DmaProtection.Write) == 0))
                Throw.Iommu(Errno.EPERM, "IOMMU_IOAS_COPY: write access asked for pages the source maps read-only");
            if (pieces.Count == 1)
                return Map(iova, pieces[0].Hpa, length, protection);
            // Several pieces: place them contiguously here, all or nothing.
            ulong at = iova ?? Allocate(length);
            ulong offset = 0;
            try
            {
                foreach ((ulong hpa, ulong size, DmaProtection _) in pieces)
                {
                    Map(at + offset, hpa, size, protection);
                    offset += size;
                }
            }
            catch
            {
                if (offset > 0)
                    Unmap(at, offset);
                throw;
            }
            return at;
        }
    }

    /// <summary><c>IOMMU_IOAS_IOVA_RANGES</c>: the IOVAs a map may use: the allowed ranges within the aperture.</summary>
    /// <returns>Sorted, disjoint inclusive ranges.</returns>
    public IReadOnlyList<IovaRange> IovaRanges()
    {
        lock (Context.Lock)
        {
            Context.RequireLive(this);
            IEnumerable<IovaRange> allowed = _allowed ?? [new IovaRange(0, ulong.MaxValue)];
            return [.. allowed.Select(r => new IovaRange(r.Start, Math.Min(r.Last, Aperture.Last))).Where(r => r.Start <= r.Last)];
        }
    }

    /// <summary><c>IOMMU_IOAS_ALLOW_IOVAS</c>: from now on the IOAS chooses IOVAs only within <paramref name="ranges"/>
    /// (any order); an empty list allows everything again. Existing areas are not checked, and a fixed IOVA is not bound
    /// by the list (<c>iopt_set_allow_iova</c>).</summary>
    /// <param name="ranges">Inclusive ranges.</param>
    /// <exception cref="IommuException">EINVAL for a range whose start is not below its last IOVA, or ranges that overlap
    /// (nothing changes).</exception>
    public void AllowIovas(IReadOnlyList<IovaRange> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        lock (Context.Lock)
        {
            Context.RequireLive(this);
            List<IovaRange> sorted = [.. ranges.OrderBy(r => r.Start)];
            for (int i = 0; i < sorted.Count; i++)
            {
                if (sorted[i].Start >= sorted[i].Last)
                    Throw.Iommu(Errno.EINVAL, $"IOMMU_IOAS_ALLOW_IOVAS: range [{Throw.Hex(sorted[i].Start)}, {Throw.Hex(sorted[i].Last)}] does not start below its end");
                if (i > 0 && sorted[i].Start <= sorted[i - 1].Last)
                    Throw.Iommu(Errno.EINVAL, $"IOMMU_IOAS_ALLOW_IOVAS: ranges at {Throw.Hex(sorted[i - 1].Start)} and {Throw.Hex(sorted[i].Start)} overlap");
            }
            _allowed = sorted.Count == 0 ? null : sorted;
        }
    }

    /// <summary>Maps every area into a new HWPT's domain (the replay of <c>iopt_table_add_domain</c>); all or nothing.</summary>
    internal void AddHwpt(IommufdHwptPaging hwpt)
    {
        var done = new List<IoasArea>();
        try
        {
            foreach (IoasArea area in _areas.Values)
            {
                hwpt.Domain.MapAs(area.Iova, area.Hpa, area.Length, area.Protection, caller: Context);
                done.Add(area);
            }
        }
        catch
        {
            foreach (IoasArea area in done)
                hwpt.Domain.UnmapAs(area.Iova, area.Length, caller: Context, prune: true);
            throw;
        }
        _hwpts.Add(hwpt);
        Users++;
    }

    internal void RemoveHwpt(IommufdHwptPaging hwpt)
    {
        if (_hwpts.Remove(hwpt))
            Users--;
    }

    internal override void Release() => _areas.Clear();

    private void MapIntoHwpts(IoasArea area, int from)
    {
        int i = from;
        try
        {
            for (; i < _hwpts.Count; i++)
                _hwpts[i].Domain.MapAs(area.Iova, area.Hpa, area.Length, area.Protection, caller: Context);
        }
        catch
        {
            for (int j = 0; j < i; j++)
                _hwpts[j].Domain.UnmapAs(area.Iova, area.Length, caller: Context, prune: true);
            throw;
        }
    }

    private IoasArea? Overlapping(ulong first, ulong last)
    {
        foreach (IoasArea a in _areas.Values)
        {
            if (a.Iova > last)
                break;
            if (a.Last >= first)
                return a;
        }
        return null;
    }

    private static int BitOperationsLog2(ulong value) => System.Numerics.BitOperations.Log2(value);

    /// <summary>The lowest 4 KiB-aligned IOVA of an allowed range where <paramref name="length"/> bytes are free.</summary>
    private ulong Allocate(ulong length)
    {
        foreach (IovaRange range in IovaRanges())
        {
            // As iopt_alloc_iova: never IOVA 0 (it scans from PAGE_SIZE), 4 KiB aligned, the lowest hole that fits.
            ulong candidate = Math.Max((range.Start + PageSize - 1) & ~(PageSize - 1), PageSize);
            foreach (IoasArea a in _areas.Values)
            {
                if (a.Last < candidate)
                    continue;
                if (a.Iova > range.Last)
                    break;
                if (a.Iova >= candidate && a.Iova - candidate >= length)
                    break;
                candidate = a.Last + 1;
            }
            if (candidate <= range.Last && range.Last - candidate >= length - 1)
                return candidate;
        }
        throw new IommuException(Errno.ENOSPC, $"IOMMU_IOAS_MAP: no free, allowed IOVA range holds {Throw.Hex(length)} bytes");
    }
}
