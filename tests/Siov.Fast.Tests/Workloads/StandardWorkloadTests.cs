using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Tests.Remapping;
using Siov.Fast.Workloads;

namespace Siov.Fast.Tests.Workloads;

/// <summary>
/// The standard workloads of docs/workloads.md: the generator against values computed by hand
/// (and by an independent script), request decoding against the document's formulas, and the
/// checksum of a short run of every workload against a reference that never touches the
/// engine (the mapping formula HPA(d, i), or a Dictionary of the mapping).
/// </summary>
public class StandardWorkloadTests
{
    [Fact]
    public void SplitMix64_FromZero_GivesThePublishedSequence()
    {
        // The reference values of Vigna's splitmix64.c for state 0.
        var random = new SplitMix64(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, random.Next());
        Assert.Equal(0x6E789E6AA1B965F4UL, random.Next());
        Assert.Equal(0x06C45D188009454FUL, random.Next());
    }

    [Fact]
    public void SplitMix64_ThreadStreamsStartAtSeedPlusThread()
    {
        var thread0 = SplitMix64.ForThread(42, 0);
        Assert.Equal(0xBDD732262FEB6E95UL, thread0.Next());
        Assert.Equal(0x28EFE333B266F103UL, thread0.Next());
        Assert.Equal(0x47526757130F9F52UL, thread0.Next());
        var thread1 = SplitMix64.ForThread(42, 1);
        Assert.Equal(0xBA69EC90EB4FEF88UL, thread1.Next());
        Assert.Equal(0x9CDE98852E60034BUL, thread1.Next());
        Assert.Equal(unchecked(43UL + 2 * SplitMix64.Increment), thread1.State);
    }

    [Theory]
    // r = 0xBDD732262FEB6E95 (the first number of seed 42): i = r & (N-1), off = (r >> 24) & (S-1), d = (r >> 40) & (D-1).
    [InlineData("hot4k", 0x1_02E9_562FUL, null, 0x100_0220_562FUL)]      // i = 11925, off 0x62F
    [InlineData("cold4k", 0x1_B6E9_562FUL, null, 0x100_EE20_562FUL)]     // i = 0xB6E95, off 0x62F
    [InlineData("huge2m", 0xE_D2B2_262FUL, null, 0x10C_40B2_262FUL)]     // i = 28309, off 0x12262F
    [InlineData("siov64", 0x1_00E9_562FUL, 51u, 0x100_3220_562FUL)]      // d = 50, i = 3733, PASID 51
    public void RequestOf_DecodesAsTheDocumentSays(string name, ulong iova, uint? pasid, ulong hpa)
    {
        StandardWorkload workload = StandardWorkload.Find(name)!;
        DmaRequest request = workload.RequestOf(0xBDD732262FEB6E95UL);
        Assert.Equal(iova, request.Iova);
        Assert.Equal(pasid.HasValue, request.HasPasid);
        Assert.Equal(pasid ?? 0, request.Pasid);
        Assert.Equal((ushort)0x0100, request.RequesterId);
        Assert.Equal(DmaAccess.Read, request.Access);
        Assert.Equal(hpa, workload.ExpectedHpaOf(0xBDD732262FEB6E95UL));
    }

    [Theory]
    [InlineData("hot4k", WorkloadTranslation.SecondLevel)]
    [InlineData("cold4k", WorkloadTranslation.SecondLevel)]
    [InlineData("huge2m", WorkloadTranslation.SecondLevel)]
    [InlineData("siov64", WorkloadTranslation.SecondLevel)]
    [InlineData("hot4k", WorkloadTranslation.FirstLevel)]
    [InlineData("cold4k", WorkloadTranslation.FirstLevel)]
    [InlineData("huge2m", WorkloadTranslation.FirstLevel)]
    [InlineData("siov64", WorkloadTranslation.FirstLevel)]
    [InlineData("hot4k", WorkloadTranslation.Nested)]
    [InlineData("cold4k", WorkloadTranslation.Nested)]
    [InlineData("huge2m", WorkloadTranslation.Nested)]
    [InlineData("siov64", WorkloadTranslation.Nested)]
    public void Checksum_MatchesTheFormulaReference_ForEveryBatchSizeAndThread(string name, WorkloadTranslation translation)
    {
        StandardWorkload workload = StandardWorkload.Find(name)!;
        using WorkloadPlatform platform = WorkloadPlatform.Create(workload, translation: translation);
        const int requests = 3000;
        for (int thread = 0; thread < 2; thread++)
        {
            ulong expected = FormulaChecksum(workload, 42, thread, requests);
            Assert.Equal((expected, 0L), platform.Run(42, thread, requests, batch: 256));
            Assert.Equal((expected, 0L), platform.Run(42, thread, requests, batch: 1));
            Assert.Equal((expected, 0L), platform.Run(42, thread, requests, batch: 7)); // a partial last batch
        }
        Assert.NotEqual(platform.Run(42, 0, requests).Checksum, platform.Run(42, 1, requests).Checksum);
        Assert.Equal(0, platform.Unit.Faults.Recorded);
    }

    /// <summary>The load tool's --iommu smmuv3: the same workloads on an SMMUv3 set up by the arm-smmu-v3 driver, AArch64
    /// stage 1 tables, give the formula's checksum (the layout does not depend on the page-table format).</summary>
    [Theory]
    [InlineData("hot4k")]
    [InlineData("cold4k")]
    [InlineData("huge2m")]
    [InlineData("siov64")]
    public void Checksum_OnSmmuV3_MatchesTheFormulaReference(string name)
    {
        StandardWorkload workload = StandardWorkload.Find(name)!;
        using SmmuWorkloadPlatform platform = SmmuWorkloadPlatform.Create(workload);
        const int requests = 3000;
        for (int thread = 0; thread < 2; thread++)
            Assert.Equal((FormulaChecksum(workload, 42, thread, requests), 0L), platform.Run(42, thread, requests, batch: 64));
        Assert.Equal(0, platform.Smmu.EventsRecorded);
    }

    /// <summary>The load tool's --ats: a device's ATC (misses as ATS translation requests to the unit) gives the
    /// formula's checksum for each workload, with a small ATC that evicts, and with first-level tables.</summary>
    [Theory]
    [InlineData("hot4k", WorkloadTranslation.SecondLevel, 262_144)]
    [InlineData("cold4k", WorkloadTranslation.SecondLevel, 4096)]
    [InlineData("huge2m", WorkloadTranslation.SecondLevel, 4096)]
    [InlineData("siov64", WorkloadTranslation.SecondLevel, 262_144)]
    [InlineData("siov64", WorkloadTranslation.FirstLevel, 4096)]
    public void Checksum_ThroughADeviceAtc_MatchesTheFormulaReference(string name, WorkloadTranslation translation, int atcEntries)
    {
        StandardWorkload workload = StandardWorkload.Find(name)!;
        using WorkloadPlatform platform = WorkloadPlatform.Create(workload, translation: translation, ats: true);
        using Siov.Fast.Ats.DeviceTlb atc = platform.CreateDeviceTlb(atcEntries);
        const int requests = 20_000;
        var random = SplitMix64.ForThread(42, 0);
        var batch = new DmaRequest[256];
        var results = new TranslationResult[256];
        ulong checksum = 0;
        long faults = 0;
        for (int done = 0; done < requests; done += batch.Length)
        {
            int n = Math.Min(batch.Length, requests - done);
            workload.Fill(ref random, batch.AsSpan(0, n));
            atc.Translate(batch.AsSpan(0, n), results.AsSpan(0, n));
            StandardWorkload.Accumulate(results.AsSpan(0, n), ref checksum, ref faults);
        }
        Assert.Equal((FormulaChecksum(workload, 42, 0, requests), 0L), (checksum, faults));
        Assert.True(atc.TranslationRequests > 0);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]       // an odd length: the last result goes through the scalar tail
    [InlineData(256)]
    public void Accumulate_SumsHpasAndCountsFaults_AsANaiveLoopDoes(int count)
    {
        using var f = Remapping.UnitFixture.Scalable();
        using Siov.Fast.PageTables.SecondLevelPageTable table = f.NewTable();
        table.Map(StandardWorkload.IovaBase, StandardWorkload.HpaBase, 1 << 20, DmaProtection.Read);
        f.Unit.AttachDevice(Remapping.UnitFixture.Rid0100, 1, table);
        var random = new Random(count);
        var requests = new DmaRequest[count];
        for (int i = 0; i < count; i++)                                 // reads and writes in and beyond the 1 MiB: hits and faults
            requests[i] = new DmaRequest(Remapping.UnitFixture.Rid0100, null,
                StandardWorkload.IovaBase + (ulong)random.Next(0, 2 << 20), random.Next(3) == 0 ? DmaAccess.Write : DmaAccess.Read);
        var results = new TranslationResult[count];
        f.Unit.Translate(requests, results);

        ulong expectedSum = 0xABCD;
        long expectedFaults = 3;
        foreach (TranslationResult r in results)
        {
            expectedSum += r.Hpa;
            expectedFaults += r.IsSuccess ? 0 : 1;
        }
        ulong sum = 0xABCD;
        long faults = 3;
        StandardWorkload.Accumulate(results, ref sum, ref faults);
        Assert.Equal((expectedSum, expectedFaults), (sum, faults));
        if (count >= 256)
            Assert.InRange(expectedFaults - 3, 1, count - 1);            // both kinds were there
    }

    [Fact]
    public void Checksum_Hot4k_MatchesADictionaryTranslator()
    {
        StandardWorkload workload = StandardWorkload.Hot4k;
        var pages = new Dictionary<ulong, ulong>();
        for (int i = 0; i < workload.PagesPerDomain; i++)
            pages[workload.IovaOf(i)] = workload.HpaOf(0, i);
        var random = SplitMix64.ForThread(42, 0);
        ulong expected = 0;
        for (int k = 0; k < 5000; k++)
        {
            ulong iova = workload.RequestOf(random.Next()).Iova;
            expected += pages[iova & ~0xFFFUL] + (iova & 0xFFF);
        }
        using WorkloadPlatform platform = WorkloadPlatform.Create(workload);
        Assert.Equal((expected, 0L), platform.Run(42, 0, 5000));
    }

    [Fact]
    public void FaultsAddZeroAndAreCountedApart()
    {
        StandardWorkload workload = StandardWorkload.Hot4k;
        using WorkloadPlatform platform = WorkloadPlatform.Create(workload);
        // Unmap page 11925 (the first request of seed 42) and invalidate it: that request faults.
        platform.Tables[0].Unmap(workload.IovaOf(11925), 4096);
        platform.Unit.InvalidateIotlbRange(1, null, workload.IovaOf(11925), 4096);
        (ulong checksum, long faults) = platform.Run(42, 0, 1);
        Assert.Equal((0UL, 1L), (checksum, faults));
    }

    [Fact]
    public void BatchStatistics_CountEveryRequestOnce()
    {
        StandardWorkload workload = StandardWorkload.Hot4k;
        using WorkloadPlatform platform = WorkloadPlatform.Create(workload);
        var random = SplitMix64.ForThread(42, 0);
        var requests = new DmaRequest[2000];
        workload.Fill(ref random, requests);
        int distinctPages = requests.Select(r => r.Iova >> 12).Distinct().Count();
        var results = new TranslationResult[256];
        // Batches of 256: the first mostly misses, so later ones run with the walk-ahead prefetch.
        for (int start = 0; start < requests.Length; start += 256)
        {
            int n = Math.Min(256, requests.Length - start);
            platform.Unit.Translate(requests.AsSpan(start, n), results);
        }
        RemappingStatistics stats = platform.Unit.Statistics;
        Assert.Equal(2000L, stats.Translations);
        Assert.Equal((long)distinctPages, stats.IotlbMisses);     // each page's first request walks
        Assert.Equal(2000L - distinctPages, stats.IotlbHits);
        platform.Unit.Translate(requests.AsSpan(0, 256), results);
        Assert.Equal((2256L, 2256L - distinctPages), (platform.Unit.Statistics.Translations, platform.Unit.Statistics.IotlbHits));
    }

    [Fact]
    public void Find_KnowsTheFourWorkloads()
    {
        Assert.Equal(["hot4k", "cold4k", "huge2m", "siov64"], StandardWorkload.All.Select(w => w.Name));
        Assert.Same(StandardWorkload.Siov64, StandardWorkload.Find("SIOV64"));
        Assert.Null(StandardWorkload.Find("warm4k"));
    }

    /// <summary>The document's formulas written out again, independent of the engine's helpers.</summary>
    private static ulong FormulaChecksum(StandardWorkload w, ulong seed, int thread, int requests)
    {
        ulong s = seed + (ulong)thread, sum = 0;
        ulong d1 = (ulong)w.Domains - 1, n1 = (ulong)w.PagesPerDomain - 1, s1 = w.PageSize - 1;
        for (int k = 0; k < requests; k++)
        {
            s += 0x9E3779B97F4A7C15UL;
            ulong z = s;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            ulong r = z ^ (z >> 31);
            ulong d = (r >> 40) & d1, i = r & n1, off = (r >> 24) & s1;
            sum += 0x100_0000_0000UL + (d * (n1 + 1) + ((i * 0x9E3779B1UL) & n1)) * w.PageSize + off;
        }
        return sum;
    }
}
