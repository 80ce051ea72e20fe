using Siov.Fast.Caching;

namespace Siov.Fast.Tests.Caching;

/// <summary>
/// The set-associative IOTLB against independent oracles: a naive loop over the ways for the
/// SIMD probes, hand-computed values for page sizes, tags, stale fills and replacement, and a
/// dictionary reference model for every invalidation granularity. Every test that probes runs
/// on each path the processor accelerates (Vector256, Vector128) and on the scalar one.
/// </summary>
public sealed class IotlbTests
{
    private const ulong R = (ulong)DmaProtection.Read;
    private const ulong RW = (ulong)DmaProtection.ReadWrite;
    private static readonly int[] s_shifts = [12, 21, 30];

    /// <summary>One cached translation of the reference model: (DID, PASID) tag, page base and log2 size.</summary>
    private readonly record struct Key(ulong Tag, ulong Base, int Shift)
    {
        public ulong Last => Base + (1UL << Shift) - 1;
    }

    private static IotlbProbePath[] SupportedPaths() =>
        new[] { IotlbProbePath.Vector256, IotlbProbePath.Vector128, IotlbProbePath.Scalar }
            .Where(Iotlb.IsSupported).ToArray();

    private static ulong NextUlong(Random random)
    {
        Span<byte> bytes = stackalloc byte[8];
        random.NextBytes(bytes);
        return BitConverter.ToUInt64(bytes);
    }

    private static void Fill(Iotlb iotlb, ulong iova, int shift, ulong tag, ulong hpa, ulong perms)
    {
        long sequence = 0;
        iotlb.Fill(iova, shift, tag, hpa, (DmaProtection)perms, ref sequence, 0);
    }

    private static (bool Hit, ulong Data, int Shift) Lookup(Iotlb iotlb, ulong iova, ulong tag)
    {
        bool hit = iotlb.TryLookup(iova, tag, out ulong data, out int shift);
        return hit ? (true, data, shift) : (false, 0, 0);
    }

    /// <summary>What TryLookup must answer: the 4 KiB entry first, then 2 MiB, then 1 GiB.</summary>
    private static (bool Hit, ulong Data, int Shift) ModelLookup(Dictionary<Key, ulong> model, ulong iova, ulong tag)
    {
        foreach (int shift in s_shifts)
        {
            if (model.TryGetValue(new Key(tag, iova >> shift << shift, shift), out ulong data))
                return (true, data, shift);
        }
        return (false, 0, 0);
    }

    private static int NaiveFindWay(ulong[,] tags, int set, ulong key)
    {
        for (int lane = 1; lane <= Iotlb.Ways; lane++)
        {
            if (tags[set, lane] == key)
                return lane;
        }
        return 0;
    }

    private static void AssertWay(Iotlb iotlb, int expected, ulong key)
    {
        foreach (var path in SupportedPaths())
            Assert.True(expected == iotlb.FindWay(path, 0, key), $"{path}: expected way {expected}");
    }

    [Fact]
    public void FindWay_HandPickedLanes_EveryPathAgrees()
    {
        using var iotlb = new Iotlb(Iotlb.Ways, IotlbProbePath.Scalar);
        Assert.Equal(1, iotlb.Sets);
        // Page 0x12345, ASID 7, 4 KiB, valid.
        const ulong Key = 0x1_2345UL << 19 | 7 << 3 | 1;
        AssertWay(iotlb, 0, Key);                                                 // empty set
        iotlb.WriteRaw(0, 0, Key);
        AssertWay(iotlb, 0, Key);                                                 // lane 0 (the version) never matches
        iotlb.WriteRaw(0, 3, Key);
        AssertWay(iotlb, 3, Key);                                                 // the last lane (high half of the second Vector128)
        iotlb.WriteRaw(0, 1, Key ^ 1UL << 63);                                    // near miss in the page number's top bit
        iotlb.WriteRaw(0, 2, Key ^ 1);                                            // near miss: the valid bit
        AssertWay(iotlb, 3, Key);
        AssertWay(iotlb, 1, Key ^ 1UL << 63);
        AssertWay(iotlb, 2, Key ^ 1);
        AssertWay(iotlb, 0, Key ^ 1UL << 3);                                      // one bit off in the ASID: nowhere
        iotlb.WriteRaw(0, 2, Key);
        AssertWay(iotlb, 2, Key);                                                 // lowest matching lane
        iotlb.WriteRaw(0, 1, Key);
        AssertWay(iotlb, 1, Key);
        AssertWay(iotlb, 0, Key ^ 1);
    }

    [Fact]
    public void FindWay_RandomRawSets_EveryPathMatchesNaiveOracle()
    {
        const int SetCount = 64;
        const int Lanes = Iotlb.Ways + 1;                                          // the version and the tags
        using var iotlb = new Iotlb(SetCount * Iotlb.Ways, IotlbProbePath.Scalar);
        Assert.Equal(SetCount, iotlb.Sets);
        var paths = SupportedPaths();
        Assert.Contains(IotlbProbePath.Scalar, paths);
        var random = new Random(20240611);
        var tags = new ulong[SetCount, Lanes];
        var keys = new ulong[SetCount];
        for (int set = 0; set < SetCount; set++)
        {
            keys[set] = NextUlong(random);
            for (int lane = 0; lane < Lanes; lane++)
            {
                tags[set, lane] = random.Next(4) switch
                {
                    0 => keys[set],                                                // the key (duplicates likely)
                    1 => keys[set] ^ 1UL << random.Next(64),                       // one bit off
                    _ => NextUlong(random),
                };
                iotlb.WriteRaw(set, lane, tags[set, lane]);
            }
        }

        int hits = 0, laneZeroOnly = 0;
        for (int probe = 0; probe < 20000; probe++)
        {
            int set = random.Next(SetCount);
            int lane = random.Next(Lanes);
            ulong key = random.Next(4) switch
            {
                0 => keys[set],
                1 => tags[set, lane],                                              // includes lane 0's word
                2 => keys[set] ^ 1UL << random.Next(64),
                _ => NextUlong(random),
            };
            int expected = NaiveFindWay(tags, set, key);
            hits += expected != 0 ? 1 : 0;
            laneZeroOnly += expected == 0 && tags[set, 0] == key ? 1 : 0;
            foreach (var path in paths)
                Assert.True(expected == iotlb.FindWay(path, set, key), $"probe {probe} set {set} {path}: oracle {expected}");
        }
        Assert.True(hits > 5000, $"only {hits} hits");              // the probes exercised matches
        Assert.True(laneZeroOnly > 100, $"only {laneZeroOnly} lane-0-only keys");
    }

    [Fact]
    public void TryLookup_SameFillsOnEveryPath_SameAnswersAndNoStaleData()
    {
        var paths = SupportedPaths();
        var iotlbs = paths.Select(p => new Iotlb(8 * Iotlb.Ways, p)).ToArray();    // small: forces evictions
        try
        {
            Assert.Equal(paths, iotlbs.Select(t => t.Path));
            var latest = new Dictionary<Key, ulong>();
            var random = new Random(77);
            int hits = 0;
            ulong[] tags = [Iotlb.Tag(1, 0), Iotlb.Tag(1, 1), Iotlb.Tag(2, Iotlb.NoPasid)];
            for (int op = 0; op < 3000; op++)
            {
                ulong tag = tags[random.Next(tags.Length)];
                int shift = s_shifts[random.Next(3)];
                ulong iova = (ulong)random.Next(1 << 14) << 12;                          // 64 MiB window
                if (random.Next(3) == 0)
                {
                    ulong hpa = (ulong)random.Next(1 << 20) << shift;
                    ulong perms = (ulong)random.Next(1, 4);
                    foreach (var iotlb in iotlbs)
                        Fill(iotlb, iova, shift, tag, hpa, perms);
                    latest[new Key(tag, iova >> shift << shift, shift)] = hpa | perms;
                }
                else if (random.Next(50) == 0)
                {
                    int removed = iotlbs[0].InvalidateDomain(1);
                    foreach (var iotlb in iotlbs.Skip(1))
                        Assert.Equal(removed, iotlb.InvalidateDomain(1));
                    foreach (var key in latest.Keys.Where(k => k.Tag >> 32 == 1).ToList())
                        latest.Remove(key);
                }
                ulong probe = iova + (ulong)random.Next(1 << 22);                        // often another page
                var first = Lookup(iotlbs[0], probe, tag);
                hits += first.Hit ? 1 : 0;
                foreach (var iotlb in iotlbs.Skip(1))
                    Assert.Equal(first, Lookup(iotlb, probe, tag));
                if (first.Hit)
                    Assert.Equal(latest[new Key(tag, probe >> first.Shift << first.Shift, first.Shift)], first.Data);
            }
            Assert.True(hits > 500, $"only {hits} hits");
            Assert.All(iotlbs, t => Assert.Equal(iotlbs[0].CountValid(), t.CountValid()));
        }
        finally
        {
            foreach (var iotlb in iotlbs)
                iotlb.Dispose();
        }
    }

    [Fact]
    public void TryLookup_OneProbeServesEveryPageSize()
    {
        foreach (var path in SupportedPaths())
        {
            using var iotlb = new Iotlb(1024, path);
            ulong tag = Iotlb.Tag(3, Iotlb.NoPasid);
            Fill(iotlb, 0x1234_5678, 12, tag, 0x7_7777_7000, RW);                   // 4 KiB at 0x1234_5000
            Fill(iotlb, 0x4060_1234, 21, tag, 0x1_2340_0000, R);                    // 2 MiB at 0x4060_0000
            Fill(iotlb, 0x80_1234_5678, 30, tag, 0x40_0000_0000, RW);               // 1 GiB at 0x80_0000_0000
            Assert.Equal(3, iotlb.CountValid());

            foreach (ulong offset in new ulong[] { 0, 1, 0x678, 0xFFF })
                Assert.Equal((true, 0x7_7777_7000 | RW, 12), Lookup(iotlb, 0x1234_5000 + offset, tag));
            Assert.False(Lookup(iotlb, 0x1234_4FFF, tag).Hit);
            Assert.False(Lookup(iotlb, 0x1234_6000, tag).Hit);

            for (ulong page = 0; page < 512; page++)                               // every 4 KiB page inside the 2 MiB one
                Assert.Equal((true, 0x1_2340_0000 | R, 21), Lookup(iotlb, 0x4060_0000 + (page << 12) + (page * 7 & 0xFFF), tag));
            Assert.False(Lookup(iotlb, 0x405F_FFFF, tag).Hit);
            Assert.False(Lookup(iotlb, 0x4080_0000, tag).Hit);

            foreach (ulong offset in new ulong[] { 0, 0xFFF, 0x20_0000, 0x1234_5678, 0x3FFF_FFFF })
                Assert.Equal((true, 0x40_0000_0000 | RW, 30), Lookup(iotlb, 0x80_0000_0000 + offset, tag));
            Assert.False(Lookup(iotlb, 0x7F_FFFF_FFFF, tag).Hit);
            Assert.False(Lookup(iotlb, 0x80_4000_0000, tag).Hit);
        }
    }

    [Fact]
    public void TryLookup_OtherDomainOrPasid_Misses()
    {
        using var iotlb = new Iotlb();
        Fill(iotlb, 0x9000, 12, Iotlb.Tag(5, 7), 0xA000, RW);
        Fill(iotlb, 0x40_0000, 21, Iotlb.Tag(5, 7), 0x80_0000, R);
        foreach (ulong iova in new ulong[] { 0x9000, 0x40_0000 })
        {
            Assert.True(Lookup(iotlb, iova, Iotlb.Tag(5, 7)).Hit);
            Assert.False(Lookup(iotlb, iova, Iotlb.Tag(5, 8)).Hit);
            Assert.False(Lookup(iotlb, iova, Iotlb.Tag(6, 7)).Hit);
            Assert.False(Lookup(iotlb, iova, Iotlb.Tag(5, Iotlb.NoPasid)).Hit);
            Assert.False(Lookup(iotlb, iova, Iotlb.Tag(5, 0)).Hit);
        }
        Assert.Equal(0x0005_0000_0007UL, Iotlb.Tag(5, 7));
        Assert.Equal(0x0005_FFFF_FFFFUL, Iotlb.Tag(5, Iotlb.NoPasid));
    }

    [Fact]
    public void Fill_AfterAnInvalidationSinceTheWalk_CachesNothing()
    {
        using var iotlb = new Iotlb();
        ulong tag = Iotlb.Tag(1, 0);
        long sequence = 5;
        iotlb.Fill(0x1000, 12, tag, 0x2000, DmaProtection.Read, ref sequence, 4);
        iotlb.Fill(0x20_0000, 21, tag, 0x40_0000, DmaProtection.Read, ref sequence, 6);
        Assert.Equal(0, iotlb.CountValid());
        Assert.False(Lookup(iotlb, 0x1000, tag).Hit);
        Assert.False(Lookup(iotlb, 0x20_0000, tag).Hit);

        iotlb.Fill(0x1000, 12, tag, 0x2000, DmaProtection.Read, ref sequence, 5);
        Assert.Equal((true, 0x2000 | R, 12), Lookup(iotlb, 0x1000, tag));
        iotlb.Fill(0x1000, 12, tag, 0x3000, DmaProtection.ReadWrite, ref sequence, 4);   // stale: no overwrite
        Assert.Equal((true, 0x2000 | R, 12), Lookup(iotlb, 0x1000, tag));
        Assert.Equal(1, iotlb.CountValid());
    }

    [Fact]
    public void Fill_FullSet_EvictsExactlyOneAndNeverDuplicates()
    {
        using var iotlb = new Iotlb(Iotlb.Ways);
        Assert.Equal((1, Iotlb.Ways), (iotlb.Sets, iotlb.Capacity));
        ulong tag = Iotlb.Tag(9, 1);
        var present = new List<ulong>();
        for (ulong page = 0; page < Iotlb.Ways; page++)
        {
            Fill(iotlb, page << 12, 12, tag, 0x10_0000 + (page << 12), R);
            present.Add(page << 12);
        }
        Assert.Equal(Iotlb.Ways, iotlb.CountValid());
        Assert.All(present, iova => Assert.True(Lookup(iotlb, iova, tag).Hit));

        Fill(iotlb, 1 << 12, 12, tag, 0xF000, RW);                                 // refill: same way, new data
        Assert.Equal(Iotlb.Ways, iotlb.CountValid());
        Assert.All(present, iova => Assert.True(Lookup(iotlb, iova, tag).Hit));
        Assert.Equal((true, 0xF000 | RW, 12), Lookup(iotlb, 1 << 12, tag));

        var keys = present.Select(iova => (Iova: iova, Shift: 12)).ToList();
        for (ulong page = Iotlb.Ways; page < 30; page++)                           // each new page evicts exactly one
        {
            int shift = page % 5 == 0 ? 21 : 12;                                   // 2 MiB fills share the one set
            ulong iova = page << shift;
            Fill(iotlb, iova, shift, tag, 0x10_0000, R);
            Assert.Equal(Iotlb.Ways, iotlb.CountValid());
            Assert.Equal((true, 0x10_0000 | R, shift), Lookup(iotlb, iova + 0x800, tag));
            var oldest = keys[0];
            int evicted = keys.RemoveAll(k => Lookup(iotlb, k.Iova, tag) is not (true, _, var s) || s != k.Shift);
            Assert.True(evicted == 1, $"page {page}: {evicted} entries evicted");
            Assert.DoesNotContain(oldest, keys);    // round-robin over a set filled in order: the oldest goes
            keys.Add((iova, shift));
        }

        // An invalidated way is reused before any valid one is evicted.
        Assert.Equal(1, iotlb.InvalidatePages(9, 1, keys[1].Iova, 0));
        Assert.Equal(Iotlb.Ways - 1, iotlb.CountValid());
        Fill(iotlb, 100 << 12, 12, tag, 0, R);
        Assert.Equal(Iotlb.Ways, iotlb.CountValid());
        Assert.All(keys.Where((_, i) => i != 1), k => Assert.Equal(k.Shift, Lookup(iotlb, k.Iova, tag).Shift));
        Assert.True(Lookup(iotlb, 100 << 12, tag).Hit);
        Assert.False(Lookup(iotlb, keys[1].Iova, tag).Hit);
    }

    [Fact]
    public void InvalidatePages_FourKiBInsideASuperpage_RemovesItWhole()
    {
        using var iotlb = new Iotlb();
        ulong tag = Iotlb.Tag(4, 1);
        Fill(iotlb, 0x60_0000, 21, tag, 0x20_0000, RW);
        Fill(iotlb, 0x80_0000, 21, tag, 0x40_0000, RW);
        Fill(iotlb, 0x4000_0000, 30, tag, 0x4000_0000, RW);
        Assert.Equal(0, iotlb.InvalidatePages(4, 2, 0x6F_F000, 0));                // other PASID
        Assert.Equal(0, iotlb.InvalidatePages(5, null, 0x6F_F000, 0));             // other domain
        Assert.Equal(1, iotlb.InvalidatePages(4, 1, 0x6F_F000, 0));                // one 4 KiB page in the middle
        Assert.False(Lookup(iotlb, 0x60_0000, tag).Hit);
        Assert.True(Lookup(iotlb, 0x80_0000, tag).Hit);
        Assert.Equal(1, iotlb.InvalidatePages(4, null, 0x7FFF_F000, 0));           // last page of the 1 GiB one
        Assert.False(Lookup(iotlb, 0x4000_0000, tag).Hit);
        Assert.Equal(1, iotlb.CountValid());
        // AM 20 is 2^20 pages (4 GiB), more than the sets (2^17 at the default capacity): the full-sweep branch.
        Assert.True(1 << 20 > iotlb.Sets);
        Assert.Equal(1, iotlb.InvalidatePages(4, null, 0, 20));
        Assert.Equal(0, iotlb.CountValid());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Invalidations_RandomOperations_MatchTheReferenceModel(int seed)
    {
        using var iotlb = new Iotlb(65536);
        var model = new Dictionary<Key, ulong>();
        var everFilled = new HashSet<Key>();
        var random = new Random(seed);
        ushort[] dids = [1, 2, 3];
        uint[] pasids = [0, 1, Iotlb.NoPasid];
        ulong[] clusters = [0, 0x20_0000, 0x4000_0000, 0x4060_0000, 0x8_0000_0000, 0xC_3FE0_0000];
        int[] masks = [0, 0, 1, 3, 9, 10, 13, 14, 18, 20, 30];
        bool sawSweep = false, sawLoop = false;

        for (int round = 0; round < 40; round++)
        {
            for (int i = 0; i < 20 + random.Next(20); i++)
            {
                int shift = s_shifts[random.Next(10) switch { < 6 => 0, < 9 => 1, _ => 2 }];
                ulong iova = clusters[random.Next(clusters.Length)] + ((ulong)random.Next(1 << 11) << 12);
                var key = new Key(Iotlb.Tag(dids[random.Next(3)], pasids[random.Next(3)]), iova >> shift << shift, shift);
                ulong data = ((ulong)(uint)random.Next(1 << 16) << shift) | (uint)random.Next(1, 4);
                Fill(iotlb, iova, shift, key.Tag, data & ~3UL, data & 3);
                model[key] = data;
                everFilled.Add(key);
            }
            Assert.Equal(model.Count, iotlb.CountValid());                         // no eviction in this test

            ushort did = dids[random.Next(3)];
            uint pasid = pasids[random.Next(3)];
            Func<Key, bool> goes;
            int removed;
            string what;
            switch (random.Next(12))
            {
                case 0:
                    what = "all";
                    goes = _ => true;
                    removed = iotlb.InvalidateAll();
                    break;
                case 1:
                case 2:
                    what = $"domain {did}";
                    goes = k => k.Tag >> 32 == did;
                    removed = iotlb.InvalidateDomain(did);
                    break;
                case 3:
                case 4:
                    what = $"pasid {did}/{pasid:x}";
                    goes = k => k.Tag == Iotlb.Tag(did, pasid);
                    removed = iotlb.InvalidatePasid(did, pasid);
                    break;
                default:
                    int am = masks[random.Next(masks.Length)];
                    ulong size = 0x1000UL << am;
                    ulong near = model.Count > 0 && random.Next(4) != 0
                        ? model.Keys.ElementAt(random.Next(model.Count)).Base + (ulong)random.Next(1 << 21)
                        : clusters[random.Next(clusters.Length)];
                    ulong address = near / size * size;
                    uint? pasidOrAll = random.Next(2) == 0 ? pasid : null;
                    what = $"pages {did}/{pasidOrAll:x} {address:x} am {am}";
                    sawSweep |= (1UL << am) > (ulong)iotlb.Sets;
                    sawLoop |= am > 0 && (1UL << am) <= (ulong)iotlb.Sets;
                    goes = k => k.Tag >> 32 == did && (pasidOrAll is null || (uint)k.Tag == pasidOrAll)
                        && k.Base <= address + size - 1 && k.Last >= address;
                    removed = iotlb.InvalidatePages(did, pasidOrAll, address, am);
                    break;
            }
            var gone = model.Keys.Where(goes).ToList();
            foreach (var key in gone)
                model.Remove(key);
            Assert.True(gone.Count == removed, $"round {round} {what}: model removes {gone.Count}, IOTLB {removed}");
            Assert.Equal(model.Count, iotlb.CountValid());

            foreach (var key in everFilled)
            {
                ulong iova = key.Base + (ulong)random.NextInt64(1L << key.Shift);
                var expected = ModelLookup(model, iova, key.Tag);
                Assert.True(expected == Lookup(iotlb, iova, key.Tag), $"round {round} after {what}: {key} at {iova:x}");
            }
        }
        Assert.True(sawSweep && sawLoop, $"sweep {sawSweep}, per-page loop {sawLoop}");
    }

    [Fact]
    public void SpaceOf_GivesEachPairOneAsid_AndUnknownOrDefaultSpacesMiss()
    {
        foreach (var path in SupportedPaths())
        {
            using var iotlb = new Iotlb(Iotlb.Ways, path);                         // one set: every page probes it
            ulong tag = Iotlb.Tag(5, 7);
            Assert.Equal(0, iotlb.SpaceCount);
            Assert.False(Lookup(iotlb, 0, tag).Hit);                               // a pair never seen misses
            Assert.Equal(0, iotlb.SpaceCount);                                     // ... without getting an ASID

            IotlbSpace space = iotlb.SpaceOf(tag);
            Assert.Equal(1, iotlb.SpaceCount);
            Assert.Equal(space, iotlb.SpaceOf(tag));                               // the same space twice
            Assert.Equal(1, iotlb.SpaceCount);
            Assert.NotEqual(0, space.Asid);
            Assert.Equal((tag, (ushort)5, 7u), (space.Tag, space.DomainId, space.PasidTag));
            IotlbSpace[] others = [iotlb.SpaceOf(Iotlb.Tag(5, 8)), iotlb.SpaceOf(Iotlb.Tag(6, 7)), iotlb.SpaceOf(Iotlb.Tag(5, Iotlb.NoPasid))];
            Assert.Equal(4, iotlb.SpaceCount);
            Assert.Equal(4, others.Select(o => o.Asid).Append(space.Asid).Distinct().Count());
            Assert.DoesNotContain(0, others.Select(o => o.Asid));

            // A fill by space hits by space and by tag; another pair on the same page misses.
            long sequence = 0;
            iotlb.Fill(0x3000, 12, space, 0x8000, DmaProtection.ReadWrite, ref sequence, 0);
            Assert.True(iotlb.TryLookup(0x3123, space, out ulong data, out int shift));
            Assert.Equal((0x8000 | RW, 12), (data, shift));
            Assert.Equal((true, 0x8000 | RW, 12), Lookup(iotlb, 0x3FFF, tag));
            Assert.False(iotlb.TryLookup(0x3000, others[0], out _, out _));

            // The default space is uncacheable: never filled, and it misses even on empty ways
            // (page 0, iova 0, ASID 0: only the valid bit tells its key from an empty tag).
            iotlb.Fill(0, 12, default(IotlbSpace), 0x9000, DmaProtection.Read, ref sequence, 0);
            Assert.Equal(1, iotlb.CountValid());
            Assert.Equal(1, iotlb.InvalidateAll());
            Assert.Equal(0, iotlb.CountValid());
            Assert.False(iotlb.TryLookup(0, default(IotlbSpace), out data, out shift), $"{path}");
            Assert.Equal((0UL, 0), (data, shift));
            Assert.False(iotlb.TryLookup(0x3000, space, out _, out _));
        }
    }

    [Fact]
    public void SpaceOf_AfterEveryAsidIsTaken_NewPairsAreUncacheable_OldOnesStillWork()
    {
        using var iotlb = new Iotlb(64);
        IotlbSpace first = iotlb.SpaceOf(Iotlb.Tag(1, 0));
        for (uint pasid = 1; pasid < 0xFFFF; pasid++)                      // ASIDs 2..65535
            Assert.NotEqual(0, iotlb.SpaceOf(Iotlb.Tag(1, pasid)).Asid);
        Assert.Equal(0xFFFF, iotlb.SpaceCount);

        IotlbSpace late = iotlb.SpaceOf(Iotlb.Tag(2, 0));                    // the 65,536th pair
        Assert.Equal(0, late.Asid);
        Assert.Equal((2, 0u), (late.DomainId, late.PasidTag));
        Fill(iotlb, 0x5000, 12, late.Tag, 0x9000, RW);                      // dropped: nothing may carry ASID 0
        Assert.False(iotlb.TryLookup(0x5000, late, out _, out _));
        Assert.Equal(0, iotlb.CountValid());

        Fill(iotlb, 0x5000, 12, first.Tag, 0x9000, RW);                     // an early pair keeps its ASID
        Assert.True(iotlb.TryLookup(0x5000, first, out ulong data, out _));
        Assert.Equal(0x9000 | RW, data);
        Assert.Equal(first, iotlb.SpaceOf(Iotlb.Tag(1, 0)));
    }

    [Fact]
    public void Addresses_AtOrAbove2To57_AreNeitherFilledNorHit()
    {
        const ulong High = 0x0200_0000_0000_1000;                                  // page 1 plus 2^57: its tag would alias page 1's
        const ulong Top = 0x01FF_FFFF_FFFF_F000;                                   // the last 4 KiB page below 2^57
        foreach (var path in SupportedPaths())
        {
            using var iotlb = new Iotlb(Iotlb.Ways, path);                         // one set: both addresses probe it
            ulong tag = Iotlb.Tag(2, 0);
            Fill(iotlb, High, 12, tag, 0x5000, RW);
            Fill(iotlb, 0x0200_0000_0000_0000, 21, tag, 0x20_0000, RW);
            Fill(iotlb, ulong.MaxValue, 30, tag, 0x4000_0000, RW);
            Assert.Equal(0, iotlb.CountValid());
            Assert.False(Lookup(iotlb, High, tag).Hit);

            Fill(iotlb, 0x1000, 12, tag, 0x6000, R);
            Assert.Equal((true, 0x6000 | R, 12), Lookup(iotlb, 0x1000, tag));
            Assert.False(Lookup(iotlb, High, tag).Hit, $"{path}: 2^57 + 0x1000 aliased page 1");
            Assert.False(Lookup(iotlb, High | 1UL << 63, tag).Hit);

            Fill(iotlb, Top, 12, tag, 0x7000, RW);                                 // the highest page still caches
            Assert.Equal(2, iotlb.CountValid());
            Assert.Equal((true, 0x7000 | RW, 12), Lookup(iotlb, Top + 0xFFF, tag));
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData((1 << 26) + 1)]
    [InlineData(int.MaxValue)]
    public void Constructor_CapacityOutOfRange_IsEinval(int capacity)
        => Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => new Iotlb(capacity).Dispose()).Code);

    [Theory]
    [InlineData(3, 1, 3)]
    [InlineData(4, 2, 6)]
    [InlineData(6, 2, 6)]
    [InlineData(7, 4, 12)]
    [InlineData(8, 4, 12)]
    [InlineData(12, 4, 12)]
    [InlineData(13, 8, 24)]
    [InlineData(65536, 32768, 98304)]
    [InlineData(262144, 131072, 393216)]
    [InlineData(3 << 10, 1024, 3 << 10)]
    [InlineData((3 << 10) + 1, 2048, 3 << 11)]
    public void Constructor_RoundsCapacityUpToPowerOfTwoSets(int capacity, int sets, int entries)
    {
        using var iotlb = new Iotlb(capacity, IotlbProbePath.Scalar);
        Assert.Equal((sets, entries), (iotlb.Sets, iotlb.Capacity));
    }

    [Fact]
    public void Constructor_DefaultsAndAuto_AndRejectsMissingVectorPaths()
    {
        using (var iotlb = new Iotlb())
        {
            using var explicitDefault = new Iotlb(Iotlb.DefaultCapacity);
            Assert.Equal((explicitDefault.Sets, explicitDefault.Capacity), (iotlb.Sets, iotlb.Capacity));
            Assert.True(iotlb.Capacity >= Iotlb.DefaultCapacity && iotlb.Capacity < 2 * Iotlb.DefaultCapacity);
            Assert.True(int.IsPow2(iotlb.Sets));
        }
        using (var auto = new Iotlb(Iotlb.Ways))
            Assert.Equal(SupportedPaths()[0], auto.Path);
        foreach (var path in new[] { IotlbProbePath.Vector256, IotlbProbePath.Vector128 }.Where(p => !Iotlb.IsSupported(p)))
            Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => new Iotlb(Iotlb.Ways, path).Dispose()).Code);
        foreach (var path in SupportedPaths())
        {
            using var iotlb = new Iotlb(Iotlb.Ways, path);
            Assert.Equal(path, iotlb.Path);
        }
        Assert.True(Iotlb.IsSupported(IotlbProbePath.Scalar) && Iotlb.IsSupported(IotlbProbePath.Auto));
    }
}
