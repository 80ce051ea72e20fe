using System.Runtime.CompilerServices;

namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// One thread's way into a <see cref="RemappingUnit"/>, from <see cref="RemappingUnit.OpenPort"/>:
/// a device model's DMA engine keeps one per thread that issues DMA. It translates exactly as the
/// unit's <c>Translate</c> methods do (the same caches, faults and concurrency contract), but counts
/// its statistics in a block of its own, where the unit's methods first look up the calling
/// thread's block: a thread-static read that costs a helper call on Linux x64 (about 4 ns, half an
/// IOTLB hit).
/// </summary>
/// <remarks>A port is for one thread at a time. Used by several threads at once, its translations
/// stay correct but its counters may lose increments. Its counts are part of
/// <see cref="RemappingUnit.Statistics"/>.</remarks>
public sealed class TranslationPort
{
    private readonly RemappingUnit _unit;
    private readonly ThreadCounters _counters;

    internal TranslationPort(RemappingUnit unit, ThreadCounters counters)
    {
        _unit = unit;
        _counters = counters;
    }

    /// <summary>The unit this port translates through.</summary>
    public RemappingUnit Unit => _unit;

    /// <summary>Translates one DMA request: <see cref="RemappingUnit.Translate(in DmaRequest)"/>.</summary>
    /// <param name="request">The request.</param>
    /// <returns>The HPA, page size and permissions, or the fault reason.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TranslationResult Translate(in DmaRequest request) => _unit.TranslateOne(request, _counters);

    /// <summary>Translates a batch: <see cref="RemappingUnit.Translate(ReadOnlySpan{DmaRequest}, Span{TranslationResult})"/>.</summary>
    /// <param name="requests">The requests.</param>
    /// <param name="results">Receives one result per request; at least as long as <paramref name="requests"/>.</param>
    /// <exception cref="IommuException">EINVAL when <paramref name="results"/> is shorter than <paramref name="requests"/> (nothing is translated).</exception>
    public void Translate(ReadOnlySpan<DmaRequest> requests, Span<TranslationResult> results) =>
        _unit.Translate(requests, results, _counters);
}
