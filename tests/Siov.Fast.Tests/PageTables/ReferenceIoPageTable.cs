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

        ulong done = 0;
        while (done < size)
        {
            ulong leaf = new[] { 1UL << 30, 1UL << 21, 1UL << 12 }.First(s =>
                ((ulong)sizes & s) != 0 && s <= size - done && (iova + done) % s == 0 && (hpa + done) % s == 0);
            _leaves.Add(iova + done, new IoMapping(iova + done, hpa + done, leaf, prot));
            done += leaf;
        }
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
