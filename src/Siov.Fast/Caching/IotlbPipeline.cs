using System.Runtime.CompilerServices;

namespace Siov.Fast.Caching;

/// <summary>
/// The pipelined hit loop shared by the caches that sit in front of a slow path (a function's ATC, the SMMU's TLB): each
/// request's set is located and prefetched <see cref="Depth"/> requests ahead, so that when its turn comes only the
/// compare, the data load and the result remain. It stops at the first request that does not hit.
/// </summary>
internal static class IotlbPipeline
{
    /// <summary>How many requests ahead sets are prepared (as the VT-d unit's batch loop does).</summary>
    public const int Depth = 16;

    /// <summary>Translates from <paramref name="start"/> while requests hit; returns the index of the first that did not (or
    /// the length). Runs only while <see cref="Iotlb.CanProbeAhead"/> (one page size cached, a SIMD probe); otherwise it
    /// returns <paramref name="start"/> and the caller's own path answers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe int TranslateHits<TProbe, TResolver>(Iotlb cache, ReadOnlySpan<DmaRequest> requests, Span<TranslationResult> results,
        int start, TResolver resolver)
        where TProbe : struct, ISetProbe
        where TResolver : struct, ISpaceResolver
    {
        if (!cache.CanProbeAhead)
            return start;
        IotlbProbe* ring = stackalloc IotlbProbe[Depth];
        int count = requests.Length;
        for (int j = start; j < count && j < start + Depth; j++)
            ring[j & (Depth - 1)] = Stage(cache, requests[j], resolver);
        for (int i = start; i < count; i++)
        {
            IotlbProbe* slot = ring + (i & (Depth - 1));
            ref readonly DmaRequest request = ref requests[i];
            if (!cache.TryTranslate<TProbe>(*slot, request.Iova, request.Access, out results[i]))
                return i;
            if (i + Depth < count)
                *slot = Stage(cache, requests[i + Depth], resolver);
        }
        return count;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static IotlbProbe Stage<TResolver>(Iotlb cache, in DmaRequest request, TResolver resolver)
        where TResolver : struct, ISpaceResolver =>
        resolver.TryGetSpace(request, out IotlbSpace space) ? cache.PrepareProbe(request.Iova, space) : default;

    /// <summary>The whole batch: hits pipelined, each miss answered by <paramref name="slow"/>.</summary>
    public static void Translate<TResolver>(Iotlb cache, ReadOnlySpan<DmaRequest> requests, Span<TranslationResult> results, TResolver resolver,
        SlowPath slow)
        where TResolver : struct, ISpaceResolver
    {
        int i = 0;
        while (i < requests.Length)
        {
            int stop = cache.Path == IotlbProbePath.Vector256 ? TranslateHits<Vector256SetProbe, TResolver>(cache, requests, results, i, resolver)
                : cache.Path == IotlbProbePath.Vector128 ? TranslateHits<Vector128SetProbe, TResolver>(cache, requests, results, i, resolver)
                : i;
            if (stop == requests.Length)
                break;
            results[stop] = slow(requests[stop]);
            i = stop + 1;
        }
    }

    /// <summary>The owner's answer to a request the pipeline did not (a miss, or any request when probing ahead is off).</summary>
    public delegate TranslationResult SlowPath(in DmaRequest request);
}
