using Siov.Fast.Workloads;

namespace Siov.Fast.Load;

/// <summary>
/// The lower bound: the same request stream and batching, but each request is "translated" by
/// one load from a flat array of the workload's page HPAs (D × N entries, indexed by PASID and
/// page number). No IOTLB, no table, no check; the checksum equals the engine's.
/// </summary>
internal static class BareDriver
{
    public static LoadResult Run(LoadOptions options)
    {
        StandardWorkload workload = options.Workload;
        var pages = new ulong[(long)workload.Domains * workload.PagesPerDomain];
        for (int d = 0; d < workload.Domains; d++)
        {
            for (int i = 0; i < workload.PagesPerDomain; i++)
                pages[(long)d * workload.PagesPerDomain + i] = workload.HpaOf(d, i);
        }
        var (requests, seconds, checksum, faults) = Harness.Run(options, (_, stream) => new BareWorker(workload, pages, stream, options.Batch));
        return new LoadResult(requests, seconds, checksum, faults, null, 0);
    }

    private sealed class BareWorker(StandardWorkload workload, ulong[] pages, ulong stream, int batch) : Worker
    {
        private readonly DmaRequest[] _requests = new DmaRequest[batch];
        private SplitMix64 _random = new(stream);

        public override void Run(int count)
        {
            int shift = workload.PageShift;
            ulong offsetMask = workload.PageSize - 1;
            long perDomain = workload.PagesPerDomain;
            ulong[] table = pages;
            while (count > 0)
            {
                int n = Math.Min(_requests.Length, count);
                Span<DmaRequest> requests = _requests.AsSpan(0, n);
                workload.Fill(ref _random, requests);
                ulong sum = Checksum;
                foreach (ref readonly DmaRequest request in requests)
                {
                    long domain = request.HasPasid ? request.Pasid - 1 : 0;
                    long page = (long)((request.Iova - StandardWorkload.IovaBase) >> shift);
                    sum = unchecked(sum + table[domain * perDomain + page] + (request.Iova & offsetMask));
                }
                Checksum = sum;
                count -= n;
            }
        }
    }
}
