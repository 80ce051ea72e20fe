namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// A translation served from a cache that disagrees with a fresh walk of memory, after the driver had issued an
/// invalidation for that domain or device since the table entry changed: the invalidation that would have dropped
/// the cached entry is missing. <see cref="ToString"/> says it in the specification's terms.
/// </summary>
/// <param name="Request">The DMA request.</param>
/// <param name="Cached">What the unit returned (from its caches).</param>
/// <param name="InMemory">What a walk of memory returns now.</param>
/// <param name="Cache">Which cache held the stale entry.</param>
/// <param name="DomainId">The DID of the cached entry.</param>
/// <param name="Pasid">The PASID the entry is tagged with (RID_PASID for requests without PASID), in scalable mode.</param>
/// <param name="ChangedEntry">The table entry whose change was not invalidated (the most recent write on the path
/// from the cached state to the request's page), or null when the write log does not remember one.</param>
/// <param name="MissingInvalidation">The invalidation that was omitted, e.g.
/// "PASID-based IOTLB invalidation DID 5 PASID 3 ADDR 0x7000 AM 0".</param>
public sealed record StaleTranslationReport(DmaRequest Request, TranslationResult Cached, TranslationResult InMemory, StaleCache Cache,
    ushort DomainId, uint? Pasid, Memory.MemoryWrite? ChangedEntry, string MissingInvalidation)
{
    /// <summary>What the changed entry is, in the specification's words (e.g. "stage 1 descriptor", "STE", "CD"); null
    /// for VT-d, whose entry follows from <see cref="Cache"/> (second-level PTE, PASID entry, context entry). On SMMUv3
    /// <see cref="DomainId"/> is the ASID (stage 1) or the VMID (stage 2), and <see cref="Pasid"/> the SubstreamID.</summary>
    public string? EntryKind { get; init; }

    /// <inheritdoc/>
    public override string ToString()
    {
        string what = EntryKind ?? Cache switch
        {
            StaleCache.Iotlb => "second-level PTE",
            StaleCache.PasidCache => "PASID entry",
            _ => "context entry",
        };
        string after = ChangedEntry is { } w
            ? $" after {what} write at 0x{w.Hpa:x} (0x{w.OldValue:x} -> 0x{w.NewValue:x}, write #{w.Sequence})"
            : $" (the {what} changed; the write log does not remember it)";
        return $"stale translation: {MissingInvalidation} missing{after}: {Request} gave {Cached}, memory gives {InMemory}";
    }
}
