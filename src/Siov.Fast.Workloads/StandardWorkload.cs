using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Siov.Fast.PageTables;

namespace Siov.Fast.Workloads;

/// <summary>
/// One of the standard translation workloads of docs/workloads.md (version 1): D domains of N
/// pages of size S, and the request stream that splitmix64 draws over them. Figures from the
/// benchmarks, the load tool and any other implementation are measured on these, and two
/// implementations can be checked against each other by their checksum.
/// </summary>
/// <remarks>
/// <para>Request <c>r = next()</c>: domain <c>d = (r &gt;&gt; 40) &amp; (D - 1)</c>, page
/// <c>i = r &amp; (N - 1)</c>, offset <c>(r &gt;&gt; 24) &amp; (S - 1)</c>, IOVA
/// <c>0x1_0000_0000 + i * S + offset</c>, a read from requester 01:00.0; with D &gt; 1 it carries
/// PASID <c>d + 1</c>, with D = 1 no PASID.</para>
/// <para>Mapping: <c>IOVA(i) -&gt; HPA(d, i) = 0x100_0000_0000 + (d * N + ((i * 0x9E3779B1) &amp; (N - 1))) * S</c>,
/// read/write, one leaf of size S per page in a 4-level table.</para>
/// </remarks>
public sealed class StandardWorkload
{
    /// <summary>IOVA of page 0 of every domain: 4 GiB.</summary>
    public const ulong IovaBase = 0x1_0000_0000;

    /// <summary>HPA of page 0 of domain 0: 1 TiB.</summary>
    public const ulong HpaBase = 0x100_0000_0000;

    /// <summary>The multiplier that scatters page i over the domain's HPAs.</summary>
    public const ulong HpaScatter = 0x9E37_79B1;

    /// <summary>The requester: the physical device 01:00.0.</summary>
    public const ushort RequesterId = 0x0100;

    private readonly ulong _domainMask;
    private readonly ulong _pageMask;
    private readonly ulong _offsetMask;

    private StandardWorkload(string name, int domains, int pagesPerDomain, int pageShift, string stresses)
    {
        Name = name;
        Domains = domains;
        PagesPerDomain = pagesPerDomain;
        PageShift = pageShift;
        Stresses = stresses;
        _domainMask = (ulong)domains - 1;
        _pageMask = (ulong)pagesPerDomain - 1;
        _offsetMask = (1UL << pageShift) - 1;
    }

    /// <summary>hot4k: 1 domain, 16,384 pages of 4 KiB (64 MiB): the IOTLB hit path.</summary>
    public static StandardWorkload Hot4k { get; } = new("hot4k", 1, 16_384, 12, "IOTLB hit path");

    /// <summary>cold4k: 1 domain, 1,048,576 pages of 4 KiB (4 GiB): page walks, memory-bound.</summary>
    public static StandardWorkload Cold4k { get; } = new("cold4k", 1, 1_048_576, 12, "page walks, memory-bound");

    /// <summary>huge2m: 1 domain, 32,768 pages of 2 MiB (64 GiB): superpage leaves.</summary>
    public static StandardWorkload Huge2m { get; } = new("huge2m", 1, 32_768, 21, "superpage leaves");

    /// <summary>siov64: 64 PASID-granular auxiliary domains of 4,096 pages of 4 KiB (16 MiB each).</summary>
    public static StandardWorkload Siov64 { get; } = new("siov64", 64, 4_096, 12, "PASID-granular aux domains");

    /// <summary>Every standard workload, in the document's order.</summary>
    public static IReadOnlyList<StandardWorkload> All { get; } = [Hot4k, Cold4k, Huge2m, Siov64];

    /// <summary>The workload's name (hot4k, cold4k, huge2m, siov64).</summary>
    public string Name { get; }

    /// <summary>D: number of domains (a power of two).</summary>
    public int Domains { get; }

    /// <summary>N: pages per domain (a power of two).</summary>
    public int PagesPerDomain { get; }

    /// <summary>log2 of S, the page size: 12 or 21.</summary>
    public int PageShift { get; }

    /// <summary>S: the page size in bytes.</summary>
    public ulong PageSize => 1UL << PageShift;

    /// <summary>What the workload stresses.</summary>
    public string Stresses { get; }

    /// <summary>Whether requests carry a PASID (D &gt; 1).</summary>
    public bool UsesPasid => Domains > 1;

    /// <summary>Finds a workload by name (case-insensitive).</summary>
    /// <param name="name">hot4k, cold4k, huge2m or siov64.</param>
    /// <returns>The workload, or null for an unknown name.</returns>
    public static StandardWorkload? Find(string name) =>
        All.FirstOrDefault(w => string.Equals(w.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>IOVA of page <paramref name="page"/> (the same in every domain).</summary>
    /// <param name="page">Page index i, below N.</param>
    /// <returns><c>0x1_0000_0000 + i * S</c>.</returns>
    public ulong IovaOf(int page) => IovaBase + ((ulong)page << PageShift);

    /// <summary>HPA that page <paramref name="page"/> of domain <paramref name="domain"/> maps to.</summary>
    /// <param name="domain">Domain index d, below D.</param>
    /// <param name="page">Page index i, below N.</param>
    /// <returns><c>0x100_0000_0000 + (d * N + ((i * 0x9E3779B1) &amp; (N - 1))) * S</c>.</returns>
    public ulong HpaOf(int domain, int page) =>
        HpaBase + (((ulong)domain * (ulong)PagesPerDomain + (((ulong)page * HpaScatter) & _pageMask)) << PageShift);

    /// <summary>The PASID that requests to domain <paramref name="domain"/> carry: null with one domain, else <c>d + 1</c>.</summary>
    /// <param name="domain">Domain index.</param>
    /// <returns>The PASID or null.</returns>
    public uint? PasidOf(int domain) => UsesPasid ? (uint)domain + 1 : null;

    /// <summary>The domain id the platform gives domain <paramref name="domain"/>: <c>d + 1</c> (DID 0 is avoided).</summary>
    /// <param name="domain">Domain index.</param>
    /// <returns>The DID.</returns>
    public static ushort DomainIdOf(int domain) => (ushort)(domain + 1);

    /// <summary>The request that random number <paramref name="r"/> stands for.</summary>
    /// <param name="r">A splitmix64 output.</param>
    /// <returns>The read request.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public DmaRequest RequestOf(ulong r)
    {
        ulong iova = IovaBase + ((r & _pageMask) << PageShift) + ((r >> 24) & _offsetMask);
        uint? pasid = Domains > 1 ? (uint)((r >> 40) & _domainMask) + 1 : null;
        return new DmaRequest(RequesterId, pasid, iova, DmaAccess.Read);
    }

    /// <summary>The HPA a correct translation of random number <paramref name="r"/>'s request yields,
    /// straight from the formula (no table, no cache): the reference for checksums.</summary>
    /// <param name="r">A splitmix64 output.</param>
    /// <returns><c>HPA(d, i) + offset</c>.</returns>
    public ulong ExpectedHpaOf(ulong r) =>
        HpaOf((int)((r >> 40) & _domainMask), (int)(r & _pageMask)) + ((r >> 24) & _offsetMask);

    /// <summary>Fills <paramref name="requests"/> with the next requests of a stream.</summary>
    /// <param name="random">The thread's generator; advanced by one call per request.</param>
    /// <param name="requests">Receives the requests.</param>
    public void Fill(ref SplitMix64 random, Span<DmaRequest> requests)
    {
        // The generator in a local: through the ref, every draw would wait on a store and a reload.
        SplitMix64 local = random;
        if (Domains == 1)
        {
            for (int k = 0; k < requests.Length; k++)
            {
                ulong r = local.Next();
                requests[k] = new DmaRequest(RequesterId, null, IovaBase + ((r & _pageMask) << PageShift) + ((r >> 24) & _offsetMask), DmaAccess.Read);
            }
        }
        else
        {
            for (int k = 0; k < requests.Length; k++)
                requests[k] = RequestOf(local.Next());
        }
        random = local;
    }

    /// <summary>Adds every translated HPA of <paramref name="results"/> to <paramref name="checksum"/>
    /// (wrapping) and counts the faults, which add 0.</summary>
    /// <param name="results">Translation results.</param>
    /// <param name="checksum">The running checksum.</param>
    /// <param name="faults">The running fault count.</param>
    public static void Accumulate(ReadOnlySpan<TranslationResult> results, ref ulong checksum, ref long faults)
    {
        ulong sum = checksum;
        long failed = 0;
        int k = 0;
        if (Vector256.IsHardwareAccelerated && BitConverter.IsLittleEndian)
        {
            // Two 16-byte results per vector: HPAs in lanes 0 and 2, the fault byte at bits 23:16 of
            // lanes 1 and 3. A fault's HPA is 0, so the sum needs no branch.
            ReadOnlySpan<ulong> words = MemoryMarshal.Cast<TranslationResult, ulong>(results);
            Vector256<ulong> hpaLanes = Vector256.Create(ulong.MaxValue, 0, ulong.MaxValue, 0);
            Vector256<ulong> faultLanes = Vector256.Create(0, 0xFFUL << 16, 0, 0xFFUL << 16);
            Vector256<ulong> ones = Vector256.Create(0, 1UL, 0, 1UL);
            Vector256<ulong> sums = Vector256<ulong>.Zero, faulted = Vector256<ulong>.Zero;
            for (; k + 2 <= results.Length; k += 2)
            {
                Vector256<ulong> pair = Vector256.Create(words.Slice(2 * k, 4));
                sums += pair & hpaLanes;
                faulted += ~Vector256.Equals(pair & faultLanes, Vector256<ulong>.Zero) & ones;   // +1 per fault
            }
            sum = unchecked(sum + Vector256.Sum(sums));
            failed = (long)Vector256.Sum(faulted);
        }
        for (; k < results.Length; k++)
        {
            sum = unchecked(sum + results[k].Hpa);
            failed += results[k].IsSuccess ? 0 : 1;
        }
        checksum = sum;
        faults += failed;
    }

    /// <summary>Page-table pages one domain's mapping needs (levels 1 to 4 of a 4-level table).</summary>
    /// <returns>The count, the top-level page included.</returns>
    public long TablePagesPerDomain()
    {
        int leafLevel = VtdPaging.LeafLevel(PageSize);
        ulong bytes = (ulong)PagesPerDomain << PageShift;
        long pages = 0;
        for (int level = leafLevel; level <= 4; level++)
        {
            // A table page at this level covers 512 entries of this level's span; +1 for an unaligned edge.
            ulong covers = VtdPaging.EntrySpan(level) << VtdPaging.BitsPerLevel;
            pages += level == 4 ? 1 : (long)((bytes + covers - 1) / covers) + 1;
        }
        return pages;
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>Translates a batch of requests (a unit's, an SMMU's or an ATC's batch call).</summary>
    /// <param name="requests">The requests.</param>
    /// <param name="results">As many results.</param>
    public delegate void BatchTranslate(ReadOnlySpan<DmaRequest> requests, Span<TranslationResult> results);

    /// <summary>
    /// The reference loop: the first <paramref name="requests"/> requests of thread <paramref name="thread"/>'s stream,
    /// <paramref name="batch"/> at a time through <paramref name="translate"/>, and their checksum and fault count. Tools
    /// may drive an IOMMU their own way, but must agree with it.
    /// </summary>
    /// <param name="translate">The batch call.</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="thread">Worker thread number (the stream starts at <c>seed + thread</c>).</param>
    /// <param name="requests">Requests to translate.</param>
    /// <param name="batch">Requests per batch call, at least 1.</param>
    /// <returns>The wrapping sum of the translated HPAs and the number of faults.</returns>
    public (ulong Checksum, long Faults) Run(BatchTranslate translate, ulong seed, int thread, long requests, int batch)
    {
        ArgumentNullException.ThrowIfNull(translate);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        var random = SplitMix64.ForThread(seed, thread);
        var buffer = new DmaRequest[batch];
        var results = new TranslationResult[batch];
        ulong checksum = 0;
        long faults = 0;
        for (long done = 0; done < requests; done += batch)
        {
            int count = (int)Math.Min(batch, requests - done);
            Fill(ref random, buffer.AsSpan(0, count));
            translate(buffer.AsSpan(0, count), results.AsSpan(0, count));
            Accumulate(results.AsSpan(0, count), ref checksum, ref faults);
        }
        return (checksum, faults);
    }
}
