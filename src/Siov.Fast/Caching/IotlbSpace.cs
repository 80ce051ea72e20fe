namespace Siov.Fast.Caching;

/// <summary>
/// The address space an IOTLB entry belongs to: a (DID, PASID) pair resolved once, when a
/// context-cache or PASID-cache entry is filled, to the bits the probe needs. Obtain it from
/// <see cref="Iotlb.SpaceOf"/>; the default value is uncacheable (never filled, never hit).
/// </summary>
/// <param name="Tag">The pair as <see cref="Iotlb.Tag"/> gives it: <c>DID &lt;&lt; 32 | PASID tag</c>.</param>
/// <param name="KeyBits">The address-space id (ASID, 16 bits) shifted to bits 18:3 of an entry's tag, with the valid bit;
/// ASID 0 marks an uncacheable space.</param>
/// <param name="SetSalt">The DID shifted to bits 55:40: mixed into the set index, so one domain's PASIDs share sets.</param>
public readonly record struct IotlbSpace(ulong Tag, ulong KeyBits, ulong SetSalt)
{
    /// <summary>The address-space id, 1 to 65,535; 0 when uncacheable.</summary>
    public int Asid => (int)(KeyBits >> 3);

    /// <summary>The domain id.</summary>
    public ushort DomainId => (ushort)(Tag >> 32);

    /// <summary>The PASID tag (<see cref="Iotlb.NoPasid"/> for legacy-mode entries).</summary>
    public uint PasidTag => (uint)Tag;
}
