using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Siov.Fast.Caching;

/// <summary>Which code compares the ways of an IOTLB set.</summary>
public enum IotlbProbePath
{
    /// <summary>The widest path the processor accelerates: Vector512, else Vector256, else scalar.</summary>
    Auto = 0,

    /// <summary>One 512-bit compare per tag word (AVX-512).</summary>
    Vector512,

    /// <summary>Two 256-bit compares per tag word (AVX2).</summary>
    Vector256,

    /// <summary>A plain loop over the ways.</summary>
    Scalar,
}

/// <summary>
/// A set-associative IOTLB: caches second-level leaves tagged by domain id, PASID, page
/// number and page size (VT-d spec section 6.2.3). One <see cref="TryLookup"/> serves 4 KiB,
/// 2 MiB and 1 GiB entries: it probes the set of each page size that has ever been cached.
/// </summary>
/// <remarks>
/// <para><b>Layout.</b> A set is three 64-byte lines: line 0 holds the set's version (lane 0)
/// and tag A of seven ways (<c>page base | size code &lt;&lt; 1 | valid</c>), line 1 a replacement
/// cursor (lane 0) and tag B (<c>DID &lt;&lt; 32 | PASID tag</c>), line 2 the data
/// (<c>page HPA | R | W</c>). A probe is one compare of line 0 and one of line 1 against
/// broadcast keys (one Vector512 each, or two Vector256, or a loop), then one load of line 2.
/// Lane 0 never matches: it is masked out.</para>
/// <para><b>Concurrency.</b> Each set is a sequence lock. A reader reads the version, probes,
/// reads the data and re-reads the version: an odd or changed version means a writer was
/// inside, and the probe counts as a miss (the caller walks the tables). No lock, no
/// interlocked operation, no allocation on a hit. Writers (fills and invalidations) take the
/// set by a compare-and-swap of the version from even to odd and release it with a release
/// store of the next even value. A fill that loses the race is dropped (it is only a cache).</para>
/// <para><b>Stale fills.</b> A fill carries the invalidation sequence number that the filler
/// read before its page walk; the fill is dropped, under the set lock, when the number has
/// changed since. An invalidation raises the number (a full fence, after the table change)
/// before it sweeps the sets, so a walk that may have read the old table either sees the new
/// number or fills before the sweep reaches its set, and is swept.</para>
/// <para><b>Replacement</b> evicts one way per fill (an invalid way first, else round-robin);
/// nothing flushes the whole cache because it is full.</para>
/// </remarks>
public sealed unsafe class Iotlb : IDisposable
{
    /// <summary>Ways per set.</summary>
    public const int Ways = 7;

    private const int LineLongs = 8;
    private const int SetLongs = 3 * LineLongs;
    private const int TagBLine = LineLongs;
    private const int DataLine = 2 * LineLongs;
    private const ulong ValidBit = 1;
    private const ulong PermissionMask = 3;
    // Size codes 0, 1, 2 = 4 KiB, 2 MiB, 1 GiB: shifts 12, 21, 30.
    private static readonly int[] s_shifts = [12, 21, 30];

    private readonly int _setCount;
    private readonly IotlbProbePath _path;
    private ulong* _sets;
    private int _cachedSizes; // bit per size code that was ever filled

    /// <summary>Creates an empty IOTLB.</summary>
    /// <param name="capacity">Entries wanted, at least 7; rounded up to a whole number of 7-way sets. Default 65536.</param>
    /// <param name="path">The probe implementation; <see cref="IotlbProbePath.Auto"/> picks the widest accelerated one.</param>
    /// <exception cref="IommuException">EINVAL for a capacity below 7 or above 2^26 entries, or a vector path the processor lacks.</exception>
    public Iotlb(int capacity = 65536, IotlbProbePath path = IotlbProbePath.Auto)
    {
        if (capacity is < Ways or > 1 << 26)
            Throw.Iommu(Errno.EINVAL, $"IOTLB capacity {capacity} is outside {Ways} to {1 << 26} entries");
        _path = path switch
        {
            IotlbProbePath.Auto when Vector512.IsHardwareAccelerated => IotlbProbePath.Vector512,
            IotlbProbePath.Auto when Vector256.IsHardwareAccelerated => IotlbProbePath.Vector256,
            IotlbProbePath.Auto => IotlbProbePath.Scalar,
            IotlbProbePath.Vector512 when !Vector512.IsHardwareAccelerated =>
                throw new IommuException(Errno.EINVAL, "the Vector512 IOTLB probe needs AVX-512, which this processor lacks"),
            IotlbProbePath.Vector256 when !Vector256.IsHardwareAccelerated =>
                throw new IommuException(Errno.EINVAL, "the Vector256 IOTLB probe needs AVX2, which this processor lacks"),
            _ => path,
        };
        _setCount = (capacity + Ways - 1) / Ways;
        nuint bytes = (nuint)_setCount * SetLongs * sizeof(ulong);
        _sets = (ulong*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(_sets, bytes);
    }

    /// <summary>Entries the IOTLB holds: sets × 7 ways.</summary>
    public int Capacity => _setCount * Ways;

    /// <summary>Number of sets.</summary>
    public int Sets => _setCount;

    /// <summary>The probe implementation in use.</summary>
    public IotlbProbePath Path => _path;

    /// <summary>Whether a processor accelerates the given path (Auto and Scalar always).</summary>
    /// <param name="path">A probe path.</param>
    /// <returns>True when it can be used here.</returns>
    public static bool IsSupported(IotlbProbePath path) => path switch
    {
        IotlbProbePath.Vector512 => Vector512.IsHardwareAccelerated,
        IotlbProbePath.Vector256 => Vector256.IsHardwareAccelerated,
        _ => true,
    };

    /// <summary>The tag B word of an entry: domain id and PASID tag.</summary>
    /// <param name="domainId">DID.</param>
    /// <param name="pasidTag">The PASID, or <see cref="NoPasid"/> for legacy-mode entries.</param>
    /// <returns>The tag.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Tag(ushort domainId, uint pasidTag) => (ulong)domainId << 32 | pasidTag;

    /// <summary>The PASID tag of entries filled in legacy mode (no PASID); outside the 20-bit PASID space.</summary>
    public const uint NoPasid = 0xFFFF_FFFF;

    /// <summary>
    /// Looks up <paramref name="iova"/> for the address space tagged <paramref name="tag"/>.
    /// Never blocks, never allocates; a set that a writer holds counts as a miss.
    /// </summary>
    /// <param name="iova">The input address.</param>
    /// <param name="tag">Tag B: <see cref="Tag"/> of DID and PASID.</param>
    /// <param name="pageHpaAndPermissions">On a hit: the page's HPA with R (bit 0) and W (bit 1).</param>
    /// <param name="pageShift">On a hit: log2 of the page size (12, 21 or 30).</param>
    /// <returns>True on a hit.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(ulong iova, ulong tag, out ulong pageHpaAndPermissions, out int pageShift)
    {
        int sizes = _cachedSizes;
        if ((sizes & 1) != 0 && ProbeSize(iova, tag, 0, out pageHpaAndPermissions))
        {
            pageShift = 12;
            return true;
        }
        // 2 MiB leaves are common (huge2m, Linux's default for large buffers): probed inline too.
        if ((sizes & 2) != 0 && ProbeSize(iova, tag, 1, out pageHpaAndPermissions))
        {
            pageShift = 21;
            return true;
        }
        return TryLookupLarge(iova, tag, sizes, out pageHpaAndPermissions, out pageShift);
    }

    /// <summary>
    /// Hints the processor to bring in the set that <see cref="TryLookup"/> would probe first for
    /// <paramref name="iova"/> (the smallest page size ever cached): its three lines. Reads nothing
    /// the result depends on; a no-op where no prefetch instruction is exposed.
    /// </summary>
    /// <param name="iova">The input address of a request about to be translated.</param>
    /// <param name="tag">Its tag B.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(ulong iova, ulong tag)
    {
        if (!Sse.IsSupported)
            return;
        int code = BitOperations.TrailingZeroCount(_cachedSizes | 8);
        if (code > 2)
            return;
        int shift = 12 + 9 * code;
        ulong* set = SetPointer(iova >> shift, code, tag);
        Sse.Prefetch0(set);
        Sse.Prefetch0(set + TagBLine);
        Sse.Prefetch0(set + DataLine);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryLookupLarge(ulong iova, ulong tag, int sizes, out ulong data, out int pageShift)
    {
        if ((sizes & 4) != 0 && ProbeSize(iova, tag, 2, out data))
        {
            pageShift = 30;
            return true;
        }
        data = 0;
        pageShift = 0;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool ProbeSize(ulong iova, ulong tag, int code, out ulong data)
    {
        int shift = 12 + 9 * code;
        ulong keyA = (iova >> shift << shift) | (ulong)code << 1 | ValidBit;
        ulong* set = SetPointer(iova >> shift, code, tag);
        ulong version = Volatile.Read(ref set[0]);
        int way = _path switch
        {
            IotlbProbePath.Vector512 => FindWayVector512(set, keyA, tag),
            IotlbProbePath.Vector256 => FindWayVector256(set, keyA, tag),
            _ => FindWayScalar(set, keyA, tag),
        };
        // Acquire loads: the data is read after the tags, the version after the data.
        data = Volatile.Read(ref set[DataLine + way]);
        return way != 0 && (version & 1) == 0 && Volatile.Read(ref set[0]) == version;
    }

    /// <summary>Finds the way whose tags equal the keys with two 512-bit compares; 0 when none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int FindWayVector512(ulong* set, ulong keyA, ulong keyB)
    {
        Vector512<ulong> match = Vector512.Equals(Vector512.Load(set), Vector512.Create(keyA))
            & Vector512.Equals(Vector512.Load(set + TagBLine), Vector512.Create(keyB));
        return BitOperations.TrailingZeroCount((uint)match.ExtractMostSignificantBits() & 0xFEu | 0x100u) & 7;
    }

    /// <summary>Finds the way whose tags equal the keys with four 256-bit compares; 0 when none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int FindWayVector256(ulong* set, ulong keyA, ulong keyB)
    {
        Vector256<ulong> a = Vector256.Create(keyA);
        Vector256<ulong> b = Vector256.Create(keyB);
        Vector256<ulong> low = Vector256.Equals(Vector256.Load(set), a) & Vector256.Equals(Vector256.Load(set + TagBLine), b);
        Vector256<ulong> high = Vector256.Equals(Vector256.Load(set + 4), a) & Vector256.Equals(Vector256.Load(set + TagBLine + 4), b);
        uint mask = low.ExtractMostSignificantBits() | high.ExtractMostSignificantBits() << 4;
        return BitOperations.TrailingZeroCount(mask & 0xFEu | 0x100u) & 7;
    }

    /// <summary>Finds the way whose tags equal the keys with a loop; 0 when none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int FindWayScalar(ulong* set, ulong keyA, ulong keyB)
    {
        for (int way = 1; way <= Ways; way++)
        {
            if (set[way] == keyA && set[TagBLine + way] == keyB)
                return way;
        }
        return 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong* SetPointer(ulong pageNumber, int code, ulong tag)
    {
        // The set depends on DID, page number and size, not on the PASID, so that a
        // domain-wide page-selective invalidation finds every PASID's entry in one set.
        ulong hash = (pageNumber ^ (tag >> 32) << 40 ^ (ulong)code << 60) * 0x9E37_79B9_7F4A_7C15UL;
        ulong index = (hash >> 32) * (ulong)_setCount >> 32;
        return _sets + (nint)index * SetLongs;
    }

    /// <summary>
    /// Caches a leaf unless an invalidation ran since <paramref name="sequenceAtWalk"/> was read.
    /// Called on the miss path after a successful walk; may drop the fill (set busy).
    /// </summary>
    /// <param name="iova">Any address inside the page.</param>
    /// <param name="pageShift">12, 21 or 30.</param>
    /// <param name="tag">Tag B.</param>
    /// <param name="pageHpa">The page's HPA.</param>
    /// <param name="permissions">The leaf's effective R/W.</param>
    /// <param name="invalidationSequence">The unit's invalidation sequence number (read under the set lock).</param>
    /// <param name="sequenceAtWalk">Its value read before the walk.</param>
    internal void Fill(ulong iova, int pageShift, ulong tag, ulong pageHpa, DmaProtection permissions,
        ref long invalidationSequence, long sequenceAtWalk)
    {
        int code = (pageShift - 12) / 9;
        if ((_cachedSizes & (1 << code)) == 0)
            Interlocked.Or(ref _cachedSizes, 1 << code); // before the entry exists, so readers probe that size
        ulong keyA = (iova >> pageShift << pageShift) | (ulong)code << 1 | ValidBit;
        ulong* set = SetPointer(iova >> pageShift, code, tag);
        if (!TryLockSet(set, out ulong version))
            return;
        if (Volatile.Read(ref invalidationSequence) == sequenceAtWalk)
        {
            int way = FindWayScalar(set, keyA, tag);
            if (way == 0)
                way = ChooseVictim(set);
            set[way] = keyA;
            set[TagBLine + way] = tag;
            set[DataLine + way] = pageHpa | ((ulong)permissions & PermissionMask);
        }
        UnlockSet(set, version);
    }

    private static int ChooseVictim(ulong* set)
    {
        for (int way = 1; way <= Ways; way++)
        {
            if ((set[way] & ValidBit) == 0)
                return way;
        }
        int victim = (int)(set[TagBLine] % Ways) + 1;
        set[TagBLine]++;
        return victim;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryLockSet(ulong* set, out ulong version)
    {
        version = Volatile.Read(ref set[0]);
        // Full fence: the odd version is visible before any entry write.
        return (version & 1) == 0 && Interlocked.CompareExchange(ref set[0], version + 1, version) == version;
    }

    private static ulong LockSet(ulong* set)
    {
        var spinner = new SpinWait();
        ulong version;
        while (!TryLockSet(set, out version))
            spinner.SpinOnce();
        return version;
    }

    // Release store: the entry writes are visible before the even version.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UnlockSet(ulong* set, ulong version) => Volatile.Write(ref set[0], version + 2);

    /// <summary>Invalidates every entry (global invalidation).</summary>
    /// <returns>Entries removed.</returns>
    public int InvalidateAll() => Sweep(static (_, _, _) => true, 0, 0);

    /// <summary>Invalidates the entries of one domain id, every PASID (domain-selective invalidation).</summary>
    /// <param name="domainId">DID.</param>
    /// <returns>Entries removed.</returns>
    public int InvalidateDomain(ushort domainId) =>
        Sweep(static (_, b, key) => b >> 32 == key.Did, domainId, 0);

    /// <summary>Invalidates the entries of one domain id and PASID tag (PASID-selective invalidation).</summary>
    /// <param name="domainId">DID.</param>
    /// <param name="pasidTag">PASID, or <see cref="NoPasid"/>.</param>
    /// <returns>Entries removed.</returns>
    public int InvalidatePasid(ushort domainId, uint pasidTag) =>
        Sweep(static (_, b, key) => b == Tag(key.Did, key.Pasid), domainId, pasidTag);

    /// <summary>
    /// Invalidates every entry of the domain (and PASID, when given) that overlaps
    /// <c>[address, address + 2^addressMask pages)</c> (page-selective invalidation with an
    /// address mask, VT-d spec section 6.5.2.3): a superpage that overlaps the range goes whole.
    /// </summary>
    /// <param name="domainId">DID.</param>
    /// <param name="pasidTag">PASID tag to match, or null for every PASID of the domain.</param>
    /// <param name="address">First address; aligned to the range size by the caller.</param>
    /// <param name="addressMask">AM: the range is 2^AM 4 KiB pages.</param>
    /// <returns>Entries removed.</returns>
    public int InvalidatePages(ushort domainId, uint? pasidTag, ulong address, int addressMask)
    {
        ulong first = address;
        ulong last = address + (PageTables.VtdPaging.PageSize << addressMask) - 1;
        var key = (domainId, pasidTag ?? 0, pasidTag.HasValue);
        int removed = 0;
        int sizes = Volatile.Read(ref _cachedSizes);
        for (int code = 0; code <= 2; code++)
        {
            if ((sizes & (1 << code)) == 0)
                continue;
            int shift = s_shifts[code];
            ulong firstPage = first >> shift;
            ulong lastPage = last >> shift;
            if (lastPage - firstPage >= (ulong)_setCount)
                return removed + SweepRange(domainId, pasidTag, first, last);
            for (ulong page = firstPage; ; page++)
            {
                ulong keyA = page << shift | (ulong)code << 1 | ValidBit;
                ulong* set = SetPointer(page, code, Tag(domainId, 0));
                ulong version = LockSet(set);
                for (int way = 1; way <= Ways; way++)
                {
                    ulong b = set[TagBLine + way];
                    if (set[way] == keyA && b >> 32 == key.domainId && (!key.Item3 || (uint)b == key.Item2))
                    {
                        set[way] = 0;
                        removed++;
                    }
                }
                UnlockSet(set, version);
                if (page == lastPage)
                    break;
            }
        }
        return removed;
    }

    private int SweepRange(ushort domainId, uint? pasidTag, ulong first, ulong last)
    {
        int removed = 0;
        for (int index = 0; index < _setCount; index++)
        {
            ulong* set = _sets + (nint)index * SetLongs;
            ulong version = LockSet(set);
            for (int way = 1; way <= Ways; way++)
            {
                ulong a = set[way];
                ulong b = set[TagBLine + way];
                if ((a & ValidBit) == 0 || b >> 32 != domainId || (pasidTag.HasValue && (uint)b != pasidTag.Value))
                    continue;
                int shift = s_shifts[(int)(a >> 1) & 3];
                ulong pageFirst = a >> shift << shift;
                ulong pageLast = pageFirst + (1UL << shift) - 1;
                if (pageFirst <= last && pageLast >= first)
                {
                    set[way] = 0;
                    removed++;
                }
            }
            UnlockSet(set, version);
        }
        return removed;
    }

    private int Sweep(Func<ulong, ulong, (ushort Did, uint Pasid), bool> match, ushort did, uint pasid)
    {
        int removed = 0;
        for (int index = 0; index < _setCount; index++)
        {
            ulong* set = _sets + (nint)index * SetLongs;
            ulong version = LockSet(set);
            for (int way = 1; way <= Ways; way++)
            {
                if ((set[way] & ValidBit) != 0 && match(set[way], set[TagBLine + way], (did, pasid)))
                {
                    set[way] = 0;
                    removed++;
                }
            }
            UnlockSet(set, version);
        }
        return removed;
    }

    /// <summary>Counts valid entries (a diagnostic scan; not synchronized with writers).</summary>
    /// <returns>The number of valid entries.</returns>
    public int CountValid()
    {
        int count = 0;
        for (int index = 0; index < _setCount; index++)
        {
            ulong* set = _sets + (nint)index * SetLongs;
            for (int way = 1; way <= Ways; way++)
                count += (int)(Volatile.Read(ref set[way]) & ValidBit);
        }
        return count;
    }

    /// <summary>Probes one set with a chosen path (for the agreement test and benchmarks).</summary>
    internal int FindWay(IotlbProbePath path, int setIndex, ulong keyA, ulong keyB)
    {
        ulong* set = _sets + (nint)setIndex * SetLongs;
        return path switch
        {
            IotlbProbePath.Vector512 => FindWayVector512(set, keyA, keyB),
            IotlbProbePath.Vector256 => FindWayVector256(set, keyA, keyB),
            _ => FindWayScalar(set, keyA, keyB),
        };
    }

    /// <summary>Writes raw tag words into a set (for the agreement test).</summary>
    internal void WriteRaw(int setIndex, int lane, ulong tagA, ulong tagB)
    {
        ulong* set = _sets + (nint)setIndex * SetLongs;
        set[lane] = tagA;
        set[TagBLine + lane] = tagB;
    }

    /// <summary>Frees the native sets.</summary>
    public void Dispose()
    {
        if (_sets == null)
            return;
        NativeMemory.AlignedFree(_sets);
        _sets = null;
    }
}
