namespace Siov.Fast.Hardware.Vtd;

/// <summary>A snapshot of a remapping unit's counters (each a total since the unit was created).</summary>
/// <param name="Translations">Requests translated (hits, misses and faults).</param>
/// <param name="IotlbHits">Requests answered from the IOTLB.</param>
/// <param name="IotlbMisses">Requests that needed a second-level page walk.</param>
/// <param name="PageWalks">Second-level page walks.</param>
/// <param name="PassThrough">Requests translated by a pass-through context or PASID entry.</param>
/// <param name="ContextCacheMisses">Context-entry reads from the tables (context cache misses).</param>
/// <param name="PasidCacheMisses">PASID-entry reads from the tables (PASID cache misses).</param>
/// <param name="Faults">Requests that faulted (recorded or not).</param>
/// <param name="FaultsRecorded">Faults written to the fault log.</param>
/// <param name="FaultsDropped">Faults dropped by overflow.</param>
/// <param name="IotlbInvalidations">IOTLB invalidation requests of every granularity.</param>
/// <param name="ContextCacheInvalidations">Context-cache invalidation requests.</param>
/// <param name="PasidCacheInvalidations">PASID-cache invalidation requests.</param>
public readonly record struct RemappingStatistics(
    long Translations, long IotlbHits, long IotlbMisses, long PageWalks, long PassThrough,
    long ContextCacheMisses, long PasidCacheMisses, long Faults, long FaultsRecorded, long FaultsDropped,
    long IotlbInvalidations, long ContextCacheInvalidations, long PasidCacheInvalidations)
{
    /// <summary>IOTLB hits divided by IOTLB lookups (hits + misses); 0 when there were none.</summary>
    public double IotlbHitRate => IotlbHits + IotlbMisses == 0 ? 0 : (double)IotlbHits / (IotlbHits + IotlbMisses);
}
