using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Siov.Fast.Memory;

namespace Siov.Fast.Caching;

/// <summary>
/// A set-associative IOTLB: caches second-level leaves tagged by domain id, PASID, page
/// number and page size (VT-d spec section 6.2.3). One <see cref="TryLookup(ulong, in IotlbSpace, out ulong, out int)"/>
/// serves 4 KiB, 2 MiB and 1 GiB entries: it probes the set of each page size that has ever been cached.
/// </summary>
/// <remarks>
/// <para><b>Layout.</b> A set is one 64-byte line of eight words: the set's version, the tags of
/// three ways, their data (<c>page HPA | size code &lt;&lt; 2 | W &lt;&lt; 1 | R</c>) and a replacement cursor. A tag is
/// <c>page number &lt;&lt; 19 | ASID &lt;&lt; 3 | size code &lt;&lt; 1 | valid</c>, where the ASID is a
/// 16-bit number the IOTLB gives each (DID, PASID) pair it sees (<see cref="SpaceOf"/>), so one
/// word names the entry and a probe is a single compare of the first half-line against one
/// broadcast key, then one load of the data. The page number must fit 45 bits: addresses at or
/// above 2^57 (beyond any VT-d MGAW) never hit. Lane 0 (the version) is masked out.</para>
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
/// number or fills before the sweep reaches its set, and is swept. Sweeps visit only the sets a
/// fill ever took (a bitmap that a fill marks under the set lock before its sequence check) and
/// pass a set without locking it when a probe-style read finds no matching entry.</para>
/// <para><b>Address-space ids</b> are never reused, so an entry can never be read under another
/// pair's name; after 65,535 distinct pairs, new pairs are uncacheable (every request walks).</para>
/// <para><b>Replacement</b> evicts one way per fill (an invalid way first, else round-robin);
/// nothing flushes the whole cache because it is full.</para>
/// </remarks>
public sealed unsafe class Iotlb : IDisposable
{
    /// <summary>Ways per set.</summary>
    public const int Ways = 3;

    /// <summary>
    /// Entries a unit's IOTLB is asked for by default: 262,144 (393,216 after rounding). Enough for
    /// the hot sets of the standard workloads (siov64 touches 262,144 pages) with few conflicts;
    /// real hardware caches far fewer, so lower it to study miss behaviour.
    /// </summary>
    public const int DefaultCapacity = 262_144;

    private const int SetLongs = 8;
    private const int DataLane = 3;     // data of way w (1..3) is word 3 + w
    private const int CursorLane = 7;
    private const ulong ValidBit = 1;
    private const ulong PermissionMask = 3;
    private const int AsidShift = 3;
    private const int PageShiftInTag = 19;
    private const int MaxAsid = 0xFFFF;
    private const ulong Golden = 0x9E37_79B9_7F4A_7C15UL;
    // Size codes 0, 1, 2 = 4 KiB, 2 MiB, 1 GiB: shifts 12, 21, 30.
    private static readonly int[] s_shifts = [12, 21, 30];

    private readonly int _setCount;
    private readonly int _setShift;
    private readonly ulong _setMask;
    private readonly IotlbProbePath _path;
    private byte* _allocation;
    private ulong* _sets;
    private int _cachedSizes; // bit per size code that was ever filled
    private int _fastCode = -1; // the one size code cached, when the path is a SIMD one; else -1
    private int _fastShift;     // its page shift
    private ulong _fastKeyBits; // its size code << 1 | valid
    private ulong _fastSalt;    // its size code << 62, as SetPointer mixes it in

    // Address-space ids: slow path only (context/PASID-cache fills, invalidations), under _spacesLock.
    private readonly Lock _spacesLock = new();
    private readonly Dictionary<ulong, IotlbSpace> _spaces = [];
    // Index: ASID; value: the pair's tag. Grown by copy and published whole, so invalidations read
    // it without the lock; ASID 0 (uncacheable) is never in the IOTLB.
    private ulong[] _asidTags = new ulong[64];
    private int _asidCount = 1;

    // One bit per set that a fill ever took: invalidation sweeps visit only those.
    private readonly ulong[] _populated;

    /// <summary>Creates an empty IOTLB.</summary>
    /// <param name="capacity">Entries wanted, at least 3; rounded up to a power-of-two number of 3-way sets. Default 262,144
    /// (393,216 entries in 131,072 sets: 8 MiB of address space, committed as sets are first written).</param>
    /// <param name="path">The probe implementation; <see cref="IotlbProbePath.Auto"/> picks the widest accelerated one.</param>
    /// <exception cref="IommuException">EINVAL for a capacity below 3 or above 2^26 entries, or a vector path the processor lacks.</exception>
    public Iotlb(int capacity = DefaultCapacity, IotlbProbePath path = IotlbProbePath.Auto)
    {
        if (capacity is < Ways or > 1 << 26)
            Throw.Iommu(Errno.EINVAL, $"IOTLB capacity {capacity} is outside {Ways} to {1 << 26} entries");
        _path = path switch
        {
            IotlbProbePath.Auto when Vector256.IsHardwareAccelerated => IotlbProbePath.Vector256,
            IotlbProbePath.Auto when Vector128.IsHardwareAccelerated => IotlbProbePath.Vector128,
            IotlbProbePath.Auto => IotlbProbePath.Scalar,
            IotlbProbePath.Vector256 when !Vector256.IsHardwareAccelerated =>
                throw new IommuException(Errno.EINVAL, "the Vector256 IOTLB probe needs AVX2, which this processor lacks"),
            IotlbProbePath.Vector128 when !Vector128.IsHardwareAccelerated =>
                throw new IommuException(Errno.EINVAL, "the Vector128 IOTLB probe needs 128-bit SIMD, which this processor lacks"),
            _ => path,
        };
        _setCount = (int)BitOperations.RoundUpToPowerOf2((uint)((capacity + Ways - 1) / Ways));
        int bits = BitOperations.Log2((uint)_setCount);
        // A one-set IOTLB would need a shift by 64, which C# masks to 0: shift by 63 and mask instead.
        // The hash's top bits, shifted straight to a byte offset of a 64-byte set.
        _setShift = 64 - Math.Max(bits, 1) - 6;
        _setMask = ((ulong)_setCount - 1) << 6;
        // Zeroed by the allocator: a large block comes straight from the OS, so untouched sets
        // cost address space, not memory (in 2 MiB steps where huge pages are granted).
        _populated = new ulong[(_setCount + 63) / 64];
        nuint bytes = (nuint)_setCount * SetLongs * sizeof(ulong);
        // Aligned to 2 MiB (huge pages cut the TLB misses of random probes), which also aligns a line.
        _allocation = (byte*)NativeMemory.AllocZeroed(bytes + HugePages.Size);
        _sets = (ulong*)(((nuint)_allocation + HugePages.Size - 1) & ~(HugePages.Size - 1));
        HugePages.Advise(_sets, bytes);
    }

    /// <summary>Entries the IOTLB holds: sets × 3 ways.</summary>
    public int Capacity => _setCount * Ways;

    /// <summary>Number of sets (a power of two).</summary>
    public int Sets => _setCount;

    /// <summary>The probe implementation in use.</summary>
    public IotlbProbePath Path => _path;

    /// <summary>Whether a processor accelerates the given path (Auto and Scalar always).</summary>
    /// <param name="path">A probe path.</param>
    /// <returns>True when it can be used here.</returns>
    public static bool IsSupported(IotlbProbePath path) => path switch
    {
        IotlbProbePath.Vector256 => Vector256.IsHardwareAccelerated,
        IotlbProbePath.Vector128 => Vector128.IsHardwareAccelerated,
        _ => true,
    };

    /// <summary>The identity of an address space: domain id and PASID tag in one word.</summary>
    /// <param name="domainId">DID.</param>
    /// <param name="pasidTag">The PASID, or <see cref="NoPasid"/> for legacy-mode entries.</param>
    /// <returns><c>DID &lt;&lt; 32 | PASID tag</c>.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Tag(ushort domainId, uint pasidTag) => (ulong)domainId << 32 | pasidTag;

    /// <summary>The PASID tag of entries filled in legacy mode (no PASID); outside the 20-bit PASID space.</summary>
    public const uint NoPasid = 0xFFFF_FFFF;

    /// <summary>Address spaces (ASIDs) given out so far.</summary>
    public int SpaceCount
    {
        get
        {
            lock (_spacesLock)
                return _spaces.Count;
        }
    }

    /// <summary>
    /// The address space of a (DID, PASID) pair, giving it the next ASID the first time it is
    /// seen. Takes a lock: call it when a context-cache or PASID-cache entry is filled, not per
    /// translation. After 65,535 pairs it returns an uncacheable space (ASID 0) for new ones.
    /// </summary>
    /// <param name="tag"><see cref="Tag"/> of the DID and PASID tag.</param>
    /// <returns>The space to pass to <see cref="TryLookup(ulong, in IotlbSpace, out ulong, out int)"/> and fills.</returns>
    public IotlbSpace SpaceOf(ulong tag)
    {
        lock (_spacesLock)
        {
            if (_spaces.TryGetValue(tag, out IotlbSpace space))
                return space;
            ulong salt = (tag >> 32) << 40;
            if (_asidCount > MaxAsid)
                return new IotlbSpace(tag, ValidBit, salt);    // ASIDs exhausted: uncacheable
            if (_asidCount == _asidTags.Length)
            {
                ulong[] grown = new ulong[Math.Min(_asidTags.Length * 2, MaxAsid + 1)];
                _asidTags.CopyTo(grown, 0);
                Volatile.Write(ref _asidTags, grown);
            }
            // The tag is in the table before the space is returned, so before any entry carries it.
            _asidTags[_asidCount] = tag;
            space = new IotlbSpace(tag, (ulong)_asidCount << AsidShift | ValidBit, salt);
            _asidCount++;
            _spaces.Add(tag, space);
            return space;
        }
    }

    /// <summary>
    /// Looks up <paramref name="iova"/> in the address space <paramref name="space"/>.
    /// Never blocks, never allocates; a set that a writer holds counts as a miss.
    /// </summary>
    /// <param name="iova">The input address.</param>
    /// <param name="space">The address space, from <see cref="SpaceOf"/>.</param>
    /// <param name="pageHpaAndPermissions">On a hit: the page's HPA with R (bit 0) and W (bit 1).</param>
    /// <param name="pageShift">On a hit: log2 of the page size (12, 21 or 30).</param>
    /// <returns>True on a hit.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(ulong iova, in IotlbSpace space, out ulong pageHpaAndPermissions, out int pageShift)
    {
        ulong entry = Lookup(iova, space);
        pageHpaAndPermissions = entry & ~SizeCodeMask;
        pageShift = entry == 0 ? 0 : PageShiftOf(entry);
        return entry != 0;
    }

    /// <summary>
    /// The translation loop's lookup: <see cref="TryLookup(ulong, in IotlbSpace, out ulong, out int)"/>
    /// as one word, so no result lives in memory: <c>page HPA | size code &lt;&lt; 2 | W &lt;&lt; 1 | R</c>,
    /// or 0 on a miss (a cached leaf always has R or W).
    /// </summary>
    /// <param name="iova">The input address.</param>
    /// <param name="space">The address space.</param>
    /// <returns>The entry word, or 0; <see cref="PageShiftOf"/> decodes the page size.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Lookup(ulong iova, in IotlbSpace space)
    {
        // One page size cached (hot4k, huge2m, most domains): one probe, inlined. Several: a call.
        int sizes = _cachedSizes;
        if (BitOperations.IsPow2(sizes))
            return Probe(iova, space, BitOperations.TrailingZeroCount(sizes));
        return sizes == 0 ? 0 : LookupMixed(iova, space, sizes);
    }

    // Smallest page size first: the hardware may cache both a superpage and, after a split, its 4 KiB pages.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong LookupMixed(ulong iova, in IotlbSpace space, int sizes)
    {
        for (int code = 0; code <= 2; code++)
        {
            ulong entry;
            if ((sizes & (1 << code)) != 0 && (entry = Probe(iova, space, code)) != 0)
                return entry;
        }
        return 0;
    }

    /// <summary>
    /// Looks up a request's address and checks its access against the cached leaf: on a hit that
    /// permits <paramref name="access"/>, the translation (page HPA plus the offset in the page,
    /// page size, permissions). Never blocks, never allocates.
    /// </summary>
    /// <param name="iova">The input address.</param>
    /// <param name="space">The address space.</param>
    /// <param name="access">The request's access (read, write or both).</param>
    /// <param name="result">On true, the translation; on false, unspecified (not written, so a miss costs no store).</param>
    /// <returns>True on a hit whose permissions cover the access; false on a miss or a denied access (the caller walks).</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryTranslate(ulong iova, in IotlbSpace space, DmaAccess access, out TranslationResult result) =>
        Complete(Lookup(iova, space), iova, access, out result);

    /// <summary>
    /// <see cref="TryTranslate(ulong, in IotlbSpace, DmaAccess, out TranslationResult)"/> for the batch
    /// loop after a batch that mostly missed: one inlined probe when exactly one page size has been
    /// cached and the path is Vector256 or Vector128; otherwise false, and the caller asks the general
    /// lookup when <see cref="CanProbeAhead"/> is false.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryTranslateFast(ulong iova, in IotlbSpace space, DmaAccess access, out TranslationResult result)
    {
        IotlbProbe probe;
        if (_fastCode < 0 || (probe = ProbeFor(iova, space)).Key == 0)
        {
            Unsafe.SkipInit(out result);
            return false;
        }
        ulong entry = _path == IotlbProbePath.Vector256
            ? ProbeSet<Vector256SetProbe>(probe.Set, probe.Key) : ProbeSet<Vector128SetProbe>(probe.Set, probe.Key);
        return Complete(entry, iova, access, out result);
    }

    /// <summary>Whether <see cref="PrepareProbe"/> may be used: exactly one page size is cached and the
    /// path is a SIMD one. Then a miss of a prepared probe (or of <see cref="TryTranslateFast"/>) is a
    /// miss of the general lookup too. A stale answer only costs a miss, a walk or a second probe.</summary>
    internal bool CanProbeAhead => _fastCode >= 0;

    /// <summary>
    /// The first half of a probe, done ahead of time by the batch loop: the set and tag of
    /// <paramref name="iova"/> for the one cached page size (from fields set with it: fewer
    /// instructions in the loop), and a prefetch of the set. An address at or above 2^57 gets a probe
    /// that never hits. Only meaningful while <see cref="CanProbeAhead"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal IotlbProbe PrepareProbe(ulong iova, in IotlbSpace space)
    {
        IotlbProbe probe = ProbeFor(iova, space);
        if (Sse.IsSupported)
            Sse.Prefetch0(probe.Set);
        return probe;
    }

    /// <summary>The set and tag of <paramref name="iova"/> for the one cached page size (see <see cref="PrepareProbe"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private IotlbProbe ProbeFor(ulong iova, in IotlbSpace space)
    {
        ulong page = iova >> _fastShift;
        ulong key = iova >> 57 == 0 ? TagOf(page, space, _fastKeyBits) : 0;
        return new IotlbProbe(SetPointer(page, space.SetSalt ^ _fastSalt), key);
    }

    /// <summary>
    /// The second half of a prepared probe: compares the set's tags with the probe's key (with
    /// <typeparamref name="TProbe"/>, the path fixed for the batch) under the set's sequence lock,
    /// checks the access and builds the translation. The page size is the one the probe was
    /// prepared for.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryTranslate<TProbe>(in IotlbProbe probe, ulong iova, DmaAccess access, out TranslationResult result)
        where TProbe : struct, ISetProbe
    {
        ulong entry;
        if (probe.Key == 0
            || (entry = ProbeSet<TProbe>(probe.Set, probe.Key)) == 0
            || ((uint)access & ~(uint)entry & (uint)PermissionMask) != 0)
        {
            Unsafe.SkipInit(out result);
            return false;
        }
        int shift = _fastShift;
        result = TranslationResult.Translated((entry & ~0xFFFUL) | PageOffset(iova, shift), shift, entry);
        return true;
    }

    /// <summary>An entry word (or 0) to a translation when it permits the access.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Complete(ulong entry, ulong iova, DmaAccess access, out TranslationResult result)
    {
        if (entry == 0 || ((uint)access & ~(uint)entry & (uint)PermissionMask) != 0)
        {
            Unsafe.SkipInit(out result);
            return false;
        }
        int shift = PageShiftOf(entry);
        result = TranslationResult.Translated((entry & ~0xFFFUL) | PageOffset(iova, shift), shift, entry);
        return true;
    }

    /// <summary>The second half of a probe: compares the set's tags with <paramref name="key"/>
    /// (with <typeparamref name="TProbe"/>) under the set's sequence lock; the entry word, or 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ProbeSet<TProbe>(ulong* set, ulong key)
        where TProbe : struct, ISetProbe
    {
        ulong version = Volatile.Read(ref set[0]);
        uint match = TProbe.Match(set, key) & 0xEu;
        if (match == 0)
            return 0;
        // Acquire loads: the data is read after the tags, the version after the data.
        ulong data = Volatile.Read(ref set[DataLane + (nint)BitOperations.TrailingZeroCount(match)]);
        return (version & 1) == 0 && Volatile.Read(ref set[0]) == version ? data : 0;
    }

    /// <summary>The low <paramref name="shift"/> bits of <paramref name="iova"/>: its offset in a page of that size (BZHI where BMI2 is present).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong PageOffset(ulong iova, int shift) =>
        Bmi2.X64.IsSupported ? Bmi2.X64.ZeroHighBits(iova, (ulong)shift) : iova & ((1UL << shift) - 1);

    /// <summary>log2 of the page size of an entry word from <see cref="Lookup"/>: 12, 21 or 30.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int PageShiftOf(ulong entry) => 12 + 9 * (int)((entry >> 2) & 3);

    private const ulong SizeCodeMask = 0xC;

    /// <summary>
    /// Looks up <paramref name="iova"/> for a (DID, PASID) pair by its tag: resolves the pair's
    /// space under a lock first, so it is for tests and tools; a pair never seen misses.
    /// </summary>
    /// <param name="iova">The input address.</param>
    /// <param name="tag"><see cref="Tag"/> of DID and PASID.</param>
    /// <param name="pageHpaAndPermissions">On a hit: the page's HPA with R (bit 0) and W (bit 1).</param>
    /// <param name="pageShift">On a hit: log2 of the page size.</param>
    /// <returns>True on a hit.</returns>
    public bool TryLookup(ulong iova, ulong tag, out ulong pageHpaAndPermissions, out int pageShift)
    {
        IotlbSpace space;
        lock (_spacesLock)
            _spaces.TryGetValue(tag, out space);
        return TryLookup(iova, space, out pageHpaAndPermissions, out pageShift);
    }

    /// <summary>
    /// Hints the processor to bring in the set that <see cref="TryLookup(ulong, in IotlbSpace, out ulong, out int)"/>
    /// would probe first for <paramref name="iova"/> (the smallest page size ever cached). Reads
    /// nothing the result depends on; a no-op where no prefetch instruction is exposed.
    /// </summary>
    /// <param name="iova">The input address of a request about to be translated.</param>
    /// <param name="space">Its address space (a guess is fine: a wrong one only wastes the hint).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(ulong iova, in IotlbSpace space)
    {
        if (!Sse.IsSupported)
            return;
        int code = BitOperations.TrailingZeroCount(_cachedSizes | 8);
        if (code > 2)
            return;
        Sse.Prefetch0(SetPointer(iova >> (12 + 9 * code), space.SetSalt ^ SizeSalt(code)));
    }


    /// <summary>Probes the set of one page size with the unit's path; returns the entry word or 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Probe(ulong iova, in IotlbSpace space, int code)
    {
        // Beyond 2^57 the page number does not fit the tag: such an address never hits.
        if (iova >> 57 != 0)
            return 0;
        ulong page = iova >> (12 + 9 * code);
        ulong key = TagOf(page, space, SizeKeyBits(code));
        ulong* set = SetPointer(page, space.SetSalt ^ SizeSalt(code));
        // The widest path inline; the others (tests, benchmarks, processors without AVX2) by a call.
        return _path == IotlbProbePath.Vector256 ? ProbeSet<Vector256SetProbe>(set, key) : ProbeNarrow(_path, set, key);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong ProbeNarrow(IotlbProbePath path, ulong* set, ulong key) =>
        path == IotlbProbePath.Vector128 ? ProbeSet<Vector128SetProbe>(set, key) : ProbeSet<ScalarSetProbe>(set, key);

    /// <summary>Finds the way whose tag equals the key with a loop; 0 when none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int FindWayScalar(ulong* set, ulong key)
    {
        for (int way = 1; way <= Ways; way++)
        {
            if (set[way] == key)
                return way;
        }
        return 0;
    }

    /// <summary>The set of a page: <paramref name="salt"/> is the space's <see cref="IotlbSpace.SetSalt"/>
    /// XOR <see cref="SizeSalt"/> of the page size.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong* SetPointer(ulong pageNumber, ulong salt)
    {
        // The set depends on DID, page number and size, not on the PASID, so that a
        // domain-wide page-selective invalidation finds every PASID's entry in one set.
        ulong hash = (pageNumber ^ salt) * Golden;
        return (ulong*)((byte*)_sets + (nint)((hash >> _setShift) & _setMask));
    }

    /// <summary>The page size's part of the set index.</summary>
    private static ulong SizeSalt(int code) => (ulong)code << 62;

    /// <summary>The page size's part of a tag, with the valid bit (again: the default, uncacheable
    /// space must not match an empty way).</summary>
    private static ulong SizeKeyBits(int code) => (ulong)code << 1 | ValidBit;

    /// <summary>A tag: <c>page number &lt;&lt; 19 | ASID &lt;&lt; 3 | size code &lt;&lt; 1 | valid</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong TagOf(ulong pageNumber, in IotlbSpace space, ulong sizeKeyBits) =>
        pageNumber << PageShiftInTag | space.KeyBits | sizeKeyBits;

    /// <summary>
    /// Caches a leaf unless an invalidation ran since <paramref name="sequenceAtWalk"/> was read.
    /// Called on the miss path after a successful walk; may drop the fill (set busy, uncacheable
    /// space, or an address at or above 2^57).
    /// </summary>
    /// <param name="iova">Any address inside the page.</param>
    /// <param name="pageShift">12, 21 or 30.</param>
    /// <param name="space">The address space, from <see cref="SpaceOf"/>.</param>
    /// <param name="pageHpa">The page's HPA.</param>
    /// <param name="permissions">The leaf's effective R/W.</param>
    /// <param name="invalidationSequence">The unit's invalidation sequence number (read under the set lock).</param>
    /// <param name="sequenceAtWalk">Its value read before the walk.</param>
    internal void Fill(ulong iova, int pageShift, in IotlbSpace space, ulong pageHpa, DmaProtection permissions,
        ref long invalidationSequence, long sequenceAtWalk)
    {
        if (space.Asid == 0 || iova >> 57 != 0)
            return;
        int code = (pageShift - 12) / 9;
        if ((_cachedSizes & (1 << code)) == 0)
            AddCachedSize(code);
        ulong page = iova >> pageShift;
        ulong key = TagOf(page, space, SizeKeyBits(code));
        ulong* set = SetPointer(page, space.SetSalt ^ SizeSalt(code));
        if (!TryLockSet(set, out ulong version))
            return;
        MarkPopulated(set);
        if (Volatile.Read(ref invalidationSequence) == sequenceAtWalk)
        {
            int way = FindWayScalar(set, key);
            if (way == 0)
                way = ChooseVictim(set);
            set[way] = key;
            set[DataLane + way] = pageHpa | (ulong)code << 2 | ((ulong)permissions & PermissionMask);
        }
        UnlockSet(set, version);
    }

    /// <summary>Caches a leaf for a (DID, PASID) pair by its tag (resolving its space first); see the <see cref="IotlbSpace"/> overload.</summary>
    internal void Fill(ulong iova, int pageShift, ulong tag, ulong pageHpa, DmaProtection permissions,
        ref long invalidationSequence, long sequenceAtWalk) =>
        Fill(iova, pageShift, SpaceOf(tag), pageHpa, permissions, ref invalidationSequence, sequenceAtWalk);

    // Before the entry exists, so readers probe that size. Under the lock so that two new sizes
    // at once cannot leave the fast path believing only one is cached.
    private void AddCachedSize(int code)
    {
        lock (_spacesLock)
        {
            int sizes = _cachedSizes | 1 << code;
            Volatile.Write(ref _fastCode, -1);
            Volatile.Write(ref _cachedSizes, sizes);
            if (_path != IotlbProbePath.Scalar && BitOperations.IsPow2(sizes))
            {
                _fastShift = 12 + 9 * code;
                _fastKeyBits = SizeKeyBits(code);
                _fastSalt = SizeSalt(code);
                Volatile.Write(ref _fastCode, code); // after the three above: readers check it first
            }
        }
    }

    private static int ChooseVictim(ulong* set)
    {
        for (int way = 1; way <= Ways; way++)
        {
            if ((set[way] & ValidBit) == 0)
                return way;
        }
        int victim = (int)(set[CursorLane] % Ways) + 1;
        set[CursorLane]++;
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

    private static int AsidOf(ulong tag) => (int)(tag >> AsidShift) & MaxAsid;

    private static int ShiftOf(ulong tag) => s_shifts[(int)(tag >> 1) & 3];

    /// <summary>Which entries an invalidation removes: all, or those of a domain, optionally of one
    /// PASID tag, optionally overlapping <c>[First, Last]</c>.</summary>
    private readonly record struct SweepFilter(bool All, ushort DomainId, uint? PasidTag, ulong First, ulong Last)
    {
        public static SweepFilter Everything => new(true, 0, null, 0, ulong.MaxValue);

        /// <summary>Whether a valid tag matches; <paramref name="asidTags"/> maps ASIDs to their pairs.
        /// An ASID beyond the table was given out after the invalidation began: not a match.</summary>
        public bool Matches(ulong tag, ulong[] asidTags)
        {
            if (All)
                return true;
            int asid = AsidOf(tag);
            if (asid >= asidTags.Length)
                return false;
            ulong pair = asidTags[asid];
            if (pair >> 32 != DomainId || (PasidTag is { } pasid && (uint)pair != pasid))
                return false;
            int shift = ShiftOf(tag);
            ulong pageFirst = tag >> PageShiftInTag << shift;
            return pageFirst <= Last && pageFirst + ((1UL << shift) - 1) >= First;
        }
    }

    /// <summary>Invalidates every entry (global invalidation).</summary>
    /// <returns>Entries removed.</returns>
    public int InvalidateAll() => Sweep(SweepFilter.Everything);

    /// <summary>Invalidates the entries of one domain id, every PASID (domain-selective invalidation).</summary>
    /// <param name="domainId">DID.</param>
    /// <returns>Entries removed.</returns>
    public int InvalidateDomain(ushort domainId) => Sweep(new SweepFilter(false, domainId, null, 0, ulong.MaxValue));

    /// <summary>Invalidates the entries of one domain id and PASID tag (PASID-selective invalidation).</summary>
    /// <param name="domainId">DID.</param>
    /// <param name="pasidTag">PASID, or <see cref="NoPasid"/>.</param>
    /// <returns>Entries removed.</returns>
    public int InvalidatePasid(ushort domainId, uint pasidTag) => Sweep(new SweepFilter(false, domainId, pasidTag, 0, ulong.MaxValue));

    /// <summary>
    /// Invalidates every entry of the domain (and PASID, when given) that overlaps
    /// <c>[address, address + 2^addressMask pages)</c> (page-selective invalidation with an
    /// address mask, VT-d spec section 6.5.2.3): a superpage that overlaps the range goes whole.
    /// Visits the set of each page of each cached size, or sweeps when the range has more pages
    /// than the IOTLB has sets. Allocates nothing.
    /// </summary>
    /// <param name="domainId">DID.</param>
    /// <param name="pasidTag">PASID tag to match, or null for every PASID of the domain.</param>
    /// <param name="address">First address; aligned to the range size by the caller.</param>
    /// <param name="addressMask">AM: the range is 2^AM 4 KiB pages.</param>
    /// <returns>Entries removed.</returns>
    public int InvalidatePages(ushort domainId, uint? pasidTag, ulong address, int addressMask) =>
        InvalidateRange(domainId, pasidTag, address, address + (PageTables.VtdPaging.PageSize << addressMask) - 1);

    /// <summary>
    /// Invalidates every entry of the domain (and PASID, when given) that overlaps <c>[first, last]</c>, a range of any
    /// length (an SMMUv3 range invalidation, CMD_TLBI_NH_VA with TG and NUM/SCALE): a superpage that overlaps it goes
    /// whole. Visits the set of each page of each cached size, or sweeps when the range has more pages than the IOTLB
    /// has sets, so the work is bounded by the IOTLB whatever the range. Allocates nothing.
    /// </summary>
    /// <param name="domainId">DID.</param>
    /// <param name="pasidTag">PASID tag to match, or null for every PASID of the domain.</param>
    /// <param name="first">First byte of the range.</param>
    /// <param name="last">Last byte of the range, at least <paramref name="first"/>.</param>
    /// <returns>Entries removed.</returns>
    public int InvalidateRange(ushort domainId, uint? pasidTag, ulong first, ulong last)
    {
        var filter = new SweepFilter(false, domainId, pasidTag, first, last);
        ulong salt = (ulong)domainId << 40;
        ulong[] asidTags = Volatile.Read(ref _asidTags);
        int removed = 0;
        int sizes = Volatile.Read(ref _cachedSizes);
        for (int code = 0; code <= 2; code++)
        {
            if ((sizes & (1 << code)) == 0)
                continue;
            int shift = s_shifts[code];
            ulong firstPage = filter.First >> shift;
            ulong lastPage = filter.Last >> shift;
            if (lastPage - firstPage >= (ulong)_setCount)
                return removed + Sweep(filter);
            for (ulong page = firstPage; ; page++)
            {
                removed += InvalidateInSet(SetPointer(page, salt ^ SizeSalt(code)), filter, asidTags);
                if (page == lastPage)
                    break;
            }
        }
        return removed;
    }

    /// <summary>Visits every set that was ever filled (the populated bitmap) and removes matches.</summary>
    private int Sweep(in SweepFilter filter)
    {
        ulong[] asidTags = Volatile.Read(ref _asidTags);
        int removed = 0;
        for (int word = 0; word < _populated.Length; word++)
        {
            ulong bits = Volatile.Read(ref _populated[word]);
            while (bits != 0)
            {
                int index = word * 64 + BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                removed += InvalidateInSet(_sets + (nint)index * SetLongs, filter, asidTags);
            }
        }
        return removed;
    }

    /// <summary>Removes a set's matching entries under its lock; passes a set that holds none
    /// without taking the lock.</summary>
    private static int InvalidateInSet(ulong* set, in SweepFilter filter, ulong[] asidTags)
    {
        if (!MayHoldMatch(set, filter, asidTags))
            return 0;
        int removed = 0;
        ulong version = LockSet(set);
        for (int way = 1; way <= Ways; way++)
        {
            if ((set[way] & ValidBit) != 0 && filter.Matches(set[way], asidTags))
            {
                set[way] = 0;
                removed++;
            }
        }
        UnlockSet(set, version);
        return removed;
    }

    /// <summary>
    /// Reads a set as a probe does (version, tags, version again) and answers false only when it
    /// held no matching entry at one instant, so an invalidation can pass it without taking its
    /// lock. An entry filled after that instant was filled after the caller raised the
    /// invalidation sequence number, so it either comes from a walk of the new tables or is
    /// dropped by the fill's own check.
    /// </summary>
    private static bool MayHoldMatch(ulong* set, in SweepFilter filter, ulong[] asidTags)
    {
        ulong version = Volatile.Read(ref set[0]);
        if ((version & 1) != 0)
            return true;
        for (int way = 1; way <= Ways; way++)
        {
            ulong tag = Volatile.Read(ref set[way]);
            if ((tag & ValidBit) != 0 && filter.Matches(tag, asidTags))
                return true;
        }
        return Volatile.Read(ref set[0]) != version;
    }

    /// <summary>
    /// Marks a set as ever filled, under its lock and before the fill checks the invalidation
    /// sequence (Interlocked.Or is a full fence): an invalidation that raised the sequence first
    /// either sees the mark or makes that fill drop its entry. Marks are never cleared.
    /// </summary>
    private void MarkPopulated(ulong* set)
    {
        nint index = (nint)(set - _sets) / SetLongs;
        ref ulong word = ref _populated[index >> 6];
        ulong bit = 1UL << (int)(index & 63);
        if ((Volatile.Read(ref word) & bit) == 0)
            Interlocked.Or(ref word, bit);
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
    internal int FindWay(IotlbProbePath path, int setIndex, ulong key)
    {
        ulong* set = _sets + (nint)setIndex * SetLongs;
        uint match = path switch
        {
            IotlbProbePath.Vector256 => Vector256SetProbe.Match(set, key),
            IotlbProbePath.Vector128 => Vector128SetProbe.Match(set, key),
            _ => ScalarSetProbe.Match(set, key),
        };
        return BitOperations.TrailingZeroCount(match & 0xEu | 0x10u) & 3;
    }

    /// <summary>Writes a raw word into lane 0 (the version) to 3 of a set (for the agreement test).</summary>
    internal void WriteRaw(int setIndex, int lane, ulong tag) => _sets[(nint)setIndex * SetLongs + lane] = tag;

    /// <summary>Frees the native sets.</summary>
    public void Dispose()
    {
        if (_allocation == null)
            return;
        NativeMemory.Free(_allocation);
        _allocation = null;
        _sets = null;
    }
}
