namespace Siov.Fast.Caching;

/// <summary>
/// A decoded, validated context entry or PASID entry: what a context-cache or PASID-cache
/// entry holds. Immutable; the caches swap whole references, so a reader sees either the old
/// or the new entry, never a mix. <see cref="Space"/> is the entry's IOTLB address space, resolved
/// once here so a translation that hits needs no lookup of its (DID, PASID) pair.
/// </summary>
internal sealed class TranslationTarget(bool passThrough, ushort domainId, uint pasidTag, ulong root, int levels, bool faultProcessingDisable,
    IotlbSpace space, FirstLevelPolicy firstLevel = default, ulong secondStageRoot = 0, int secondStageLevels = 0, bool accessedDirty = false)
{
    /// <summary>SLADE (dirty tracking): the hardware sets A and D in the second-level entries it uses.</summary>
    public readonly bool AccessedDirty = accessedDirty;

    /// <summary>Nested translation (PGTT 011b): SLPTPTR of the second stage that maps the first level's GPAs; 0 otherwise.</summary>
    public readonly ulong SecondStageRoot = secondStageRoot;

    /// <summary>The second stage's levels; 0 when not nested.</summary>
    public readonly int SecondStageLevels = secondStageLevels;

    /// <summary>For a first-level PASID entry (PGTT 001b): on, with its controls; <see cref="Root"/> is then FLPTPTR and
    /// <see cref="Levels"/> 4 or 5.</summary>
    public readonly FirstLevelPolicy FirstLevel = firstLevel;
    public readonly bool PassThrough = passThrough;
    public readonly ushort DomainId = domainId;
    public readonly uint PasidTag = pasidTag;
    /// <summary>The IOTLB address space; the default (uncacheable) one for pass-through, so a probe misses and the slow path answers.</summary>
    public readonly IotlbSpace Space = space;
    public readonly ulong Root = root;
    public readonly int Levels = levels;
    public readonly bool FaultProcessingDisable = faultProcessingDisable;
}
