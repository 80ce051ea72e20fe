namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record StatsDto(string Unit, long Translations, long IotlbHits, long IotlbMisses, long Walks, long PassThrough,
    long ContextCacheMisses, long PasidCacheMisses, long Faults, long FaultsRecorded, long FaultsDropped,
    long IotlbInvalidations, long ContextInvalidations, long PasidInvalidations, double IotlbHitRate);
