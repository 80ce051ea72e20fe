using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.PageTables;

/// <summary>
/// The oracle for the model-based tests: a plain sorted map of leaf ranges with no tables,
/// no memory and no bit layouts. Each rule is written from its statement, not from the
/// engine's code: map splits greedily into the largest leaf that fits and to which IOVA and
/// HPA are aligned; map refuses any overlap; unmap removes every leaf it touches, whole.
/// </summary>
internal sealed class ReferenceIoPageTable(int addressWidth, int hostAddressWidth, PageSizes sizes)
{
    private readonly SortedList<ulong, IoMapping> _leaves = [];

    public IReadOnlyList<IoMapping> Leaves => [.. _leaves.Values];

    /// <summary>Returns the errno the map must fail with, or null after applying it.</summary>
    public Errno? Map(ulong iova, ulong hpa, ulong size, DmaProtection prot)
    {
        if (size == 0 || prot is not (DmaProtection.Read or DmaProtection.Write or DmaProtection.ReadWrite))
            return Errno.EINVAL;
        if (iova % 4096 != 0 || hpa % 4096 != 0 || size % 4096 != 0)
            return Errno.EINVAL;
        if (!Fits(iova, size, addressWidth))
            return Errno.ERANGE;
        if (!Fits(hpa, size, hostAddressWidth))
            return Errno.EINVAL;
        if (Overlapping(iova, size).Count != 0)
            return Errno.EEXIST;

        foreach (IoMapping leaf in Split(iova, hpa, size, prot, sizes))
            _leaves.Add(leaf.Iova, leaf);
        return null;
    }

    /// <summary>The leaves a map writes: greedily the largest supported size that fits and to which IOVA and HPA are aligned.</summary>
    public static IEnumerable<IoMapping> Split(ulong iova, ulong hpa, ulong size, DmaProtection prot, PageSizes sizes)
    {
        ulong done = 0;
        while (done < size)
        {
            ulong leaf = new[] { 1UL << 30, 1UL << 21, 1UL << 12 }.First(s =>
                ((ulong)sizes & s) != 0 && s <= size - done && (iova + done) % s == 0 && (hpa + done) % s == 0);
            yield return new IoMapping(iova + done, hpa + done, leaf, prot);
            done += leaf;
        }
    }

    /// <summary>
    /// A batch map, all or nothing: the errno and failing item, or (null, null) after applying every item.
    /// Rules, in order: the first item (by position) with a bad argument; then any two items that overlap
    /// (<c>IntraBatch</c>; the index is left to the engine, which names one of the pair); then the item with
    /// the lowest IOVA that overlaps an existing leaf. <paramref name="apply"/> false only checks.
    /// </summary>
    public (Errno? Error, int? Index, bool IntraBatch) MapBatch(IReadOnlyList<IoMapping> items, bool apply = true)
    {
        for (int i = 0; i < items.Count; i++)
        {
            IoMapping m = items[i];
            Errno? bad = CheckArguments(m.Iova, m.Hpa, m.Size, m.Protection);
            if (bad != null)
                return (bad, i, false);
        }
        for (int i = 0; i < items.Count; i++)
        {
            for (int j = 0; j < i; j++)
            {
                if (items[i].Iova < items[j].Iova + items[j].Size && items[j].Iova < items[i].Iova + items[i].Size)
                    return (Errno.EEXIST, null, true);
            }
        }
        int? conflict = null;
        for (int i = 0; i < items.Count; i++)
        {
            if (Overlapping(items[i].Iova, items[i].Size).Count != 0 && (conflict == null || items[i].Iova < items[conflict.Value].Iova))
                conflict = i;
        }
        if (conflict != null)
            return (Errno.EEXIST, conflict, false);
        if (apply)
        {
            foreach (IoMapping m in items)
                Assert.Null(Map(m.Iova, m.Hpa, m.Size, m.Protection));
        }
        return (null, null, false);
    }

    private Errno? CheckArguments(ulong iova, ulong hpa, ulong size, DmaProtection prot)
    {
        if (size == 0 || prot is not (DmaProtection.Read or DmaProtection.Write or DmaProtection.ReadWrite))
            return Errno.EINVAL;
        if (iova % 4096 != 0 || hpa % 4096 != 0 || size % 4096 != 0)
            return Errno.EINVAL;
        if (!Fits(iova, size, addressWidth))
            return Errno.ERANGE;
        if (!Fits(hpa, size, hostAddressWidth))
            return Errno.EINVAL;
        return null;
    }

    /// <summary>Returns the errno the unmap must fail with, or the bytes of leaves removed.</summary>
    public (Errno? Error, ulong Bytes) Unmap(ulong iova, ulong size)
    {
        if (size == 0 || iova % 4096 != 0 || size % 4096 != 0)
            return (Errno.EINVAL, 0);
        if (!Fits(iova, size, addressWidth))
            return (Errno.ERANGE, 0);
        List<IoMapping> hit = Overlapping(iova, size);
        foreach (IoMapping l in hit)
            _leaves.Remove(l.Iova);
        return (null, hit.Aggregate(0UL, (sum, l) => sum + l.Size));
    }

    /// <summary>The leaf covering <paramref name="iova"/>, if any.</summary>
    public IoMapping? Lookup(ulong iova)
    {
        List<IoMapping> hit = Overlapping(iova, 1);
        return hit.Count == 0 ? null : hit[0];
    }

    /// <summary>Every leaf that intersects [start, start + size), found by binary search.</summary>
    private List<IoMapping> Overlapping(ulong start, ulong size)
    {
        IList<ulong> keys = _leaves.Keys;
        // First leaf starting after `start`; the one before it may still cover `start`.
        int lo = 0, hi = keys.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (keys[mid] <= start) lo = mid + 1; else hi = mid;
        }
        var hit = new List<IoMapping>();
        for (int i = Math.Max(lo - 1, 0); i < keys.Count && keys[i] < start + size; i++)
        {
            IoMapping l = _leaves.Values[i];
            if (l.Iova < start + size && start < l.Iova + l.Size)
                hit.Add(l);
        }
        return hit;
    }

    private static bool Fits(ulong start, ulong size, int width)
    {
        var end = (UInt128)start + size; // no wrap-around in the oracle
        return end <= (UInt128)1 << width;
    }
}
