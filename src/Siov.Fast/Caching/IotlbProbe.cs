namespace Siov.Fast.Caching;

/// <summary>
/// The first half of an IOTLB probe, worked out ahead of time by a pipelined caller (the batch
/// translation loop) with <see cref="Iotlb.PrepareProbe"/>: which set an address maps to, for the
/// one page size the IOTLB caches, and which tag it must match there. Opaque outside the IOTLB;
/// <see cref="Iotlb.TryTranslate{TProbe}(in IotlbProbe, ulong, DmaAccess, out TranslationResult)"/>
/// completes it. The default value never hits.
/// </summary>
internal readonly unsafe struct IotlbProbe
{
    internal readonly ulong* Set;
    internal readonly ulong Key;

    internal IotlbProbe(ulong* set, ulong key)
    {
        Set = set;
        Key = key;
    }
}
