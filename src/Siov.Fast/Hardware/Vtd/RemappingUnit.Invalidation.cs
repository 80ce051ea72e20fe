using Siov.Fast.Caching;
using Siov.Fast.PageTables;

namespace Siov.Fast.Hardware.Vtd;

public sealed partial class RemappingUnit
{
    /// <summary>Global IOTLB invalidation (VT-d spec section 6.5.1.2, IOTLB Invalidate with G = 01b).</summary>
    /// <returns>Entries removed.</returns>
    public int InvalidateIotlb()
    {
        lock (_programLock)
        {
            BeginInvalidation(ref _iotlbInvalidations);
            _sanitizer?.NoteInvalidation(StaleCache.Iotlb, null, null, _memory.WriteLog?.Sequence ?? 0);
            return _iotlb.InvalidateAll();
        }
    }

    /// <summary>Domain-selective IOTLB invalidation: every entry tagged with <paramref name="domainId"/>, every PASID.</summary>
    /// <param name="domainId">DID.</param>
    /// <returns>Entries removed.</returns>
    public int InvalidateIotlbDomain(ushort domainId)
    {
        lock (_programLock)
        {
            BeginInvalidation(ref _iotlbInvalidations);
            _sanitizer?.NoteInvalidation(StaleCache.Iotlb, domainId, null, _memory.WriteLog?.Sequence ?? 0);
            return _iotlb.InvalidateDomain(domainId);
        }
    }

    /// <summary>PASID-selective IOTLB invalidation (PASID-based IOTLB Invalidate, granularity 01b).</summary>
    /// <param name="domainId">DID.</param>
    /// <param name="pasid">PASID (in scalable mode, RID_PASID entries are tagged with the RID_PASID value).</param>
    /// <returns>Entries removed.</returns>
    public int InvalidateIotlbPasid(ushort domainId, uint pasid)
    {
        lock (_programLock)
        {
            BeginInvalidation(ref _iotlbInvalidations);
            _sanitizer?.NoteInvalidation(StaleCache.Iotlb, domainId, null, _memory.WriteLog?.Sequence ?? 0);
            return _iotlb.InvalidatePasid(domainId, pasid);
        }
    }

    /// <summary>
    /// Page-selective-within-domain IOTLB invalidation: entries of the domain (and of
    /// <paramref name="pasid"/> when given, else every PASID) that overlap
    /// <c>[address, address + 2^addressMask × 4 KiB)</c>. A superpage entry that overlaps goes whole.
    /// Without CAP_REG.PSI the unit performs a domain-selective invalidation instead, as hardware may.
    /// </summary>
    /// <param name="domainId">DID.</param>
    /// <param name="pasid">PASID, or null for all PASIDs of the domain (the IOTLB Invalidate descriptor).</param>
    /// <param name="address">First address; aligned to 2^(12 + addressMask).</param>
    /// <param name="addressMask">AM, 0 to CAP_REG.MAMV.</param>
    /// <returns>Entries removed.</returns>
    /// <exception cref="IommuException">EINVAL when AM exceeds MAMV or the address is not aligned to the range; nothing is invalidated.</exception>
    public int InvalidateIotlbPages(ushort domainId, uint? pasid, ulong address, int addressMask)
    {
        if (addressMask < 0 || addressMask > Capability.MaximumAddressMaskValue)
            Throw.Iommu(Errno.EINVAL, $"address mask {addressMask} is outside 0 to CAP_REG.MAMV ({Capability.MaximumAddressMaskValue})");
        ulong span = VtdPaging.PageSize << addressMask;
        if ((address & (span - 1)) != 0)
            Throw.Iommu(Errno.EINVAL, $"address {Throw.Hex(address)} is not aligned to the {Throw.Hex(span)}-byte range of address mask {addressMask}");
        lock (_programLock)
        {
            BeginInvalidation(ref _iotlbInvalidations);
            _sanitizer?.NoteInvalidation(StaleCache.Iotlb, domainId, null, _memory.WriteLog?.Sequence ?? 0);
            if (!Capability.PageSelectiveInvalidation)
                return pasid.HasValue ? _iotlb.InvalidatePasid(domainId, pasid.Value) : _iotlb.InvalidateDomain(domainId);
            return _iotlb.InvalidatePages(domainId, pasid.HasValue ? pasid.Value : null, address, addressMask);
        }
    }

    /// <summary>
    /// Invalidates the IOTLB entries of <c>[iova, iova + size)</c> the way the Linux driver does after
    /// an unmap (<c>iommu_flush_iotlb_psi</c>): one page-selective invalidation whose address mask
    /// covers the range, or a domain-selective (PASID-selective) one when the mask would exceed MAMV.
    /// </summary>
    /// <param name="domainId">DID.</param>
    /// <param name="pasid">PASID, or null for all PASIDs of the domain.</param>
    /// <param name="iova">First address (any alignment).</param>
    /// <param name="size">Bytes, at least 1.</param>
    /// <returns>Entries removed.</returns>
    /// <exception cref="IommuException">EINVAL for a zero size or a range that wraps past 2^64.</exception>
    public int InvalidateIotlbRange(ushort domainId, uint? pasid, ulong iova, ulong size)
    {
        (ulong address, int mask) = Hardware.Vtd.InvalidationDescriptors.CoveringPages(iova, size);
        if (mask > Capability.MaximumAddressMaskValue || !Capability.PageSelectiveInvalidation)
            return pasid.HasValue ? InvalidateIotlbPasid(domainId, pasid.Value) : InvalidateIotlbDomain(domainId);
        return InvalidateIotlbPages(domainId, pasid, address, mask);
    }

    /// <summary>Global context-cache invalidation (Context-cache Invalidate, G = 01b). Also drops the PASID cache,
    /// which the model keeps under each context-cache entry.</summary>
    /// <returns>Context-cache entries removed.</returns>
    public int InvalidateContextCache()
    {
        lock (_programLock)
        {
            BeginInvalidation(ref _contextInvalidations);
            _sanitizer?.NoteInvalidation(StaleCache.ContextCache, null, null, _memory.WriteLog?.Sequence ?? 0);
            _sanitizer?.NoteInvalidation(StaleCache.PasidCache, null, null, _memory.WriteLog?.Sequence ?? 0);
            return DropContexts(static _ => true);
        }
    }

    /// <summary>Domain-selective context-cache invalidation (G = 10b): legacy entries with that DID; in scalable
    /// mode, where context entries carry no DID, every entry (hardware may invalidate more than asked).</summary>
    /// <param name="domainId">DID.</param>
    /// <returns>Context-cache entries removed.</returns>
    public int InvalidateContextCacheDomain(ushort domainId)
    {
        lock (_programLock)
        {
            BeginInvalidation(ref _contextInvalidations);
            _sanitizer?.NoteInvalidation(StaleCache.ContextCache, domainId, null, _memory.WriteLog?.Sequence ?? 0);
            _sanitizer?.NoteInvalidation(StaleCache.PasidCache, domainId, null, _memory.WriteLog?.Sequence ?? 0);
            return DropContexts(c => c.Scalable || c.NoPasid?.DomainId == domainId);
        }
    }

    /// <summary>Device-selective context-cache invalidation (G = 11b) for one requester id.</summary>
    /// <param name="requesterId">Source id.</param>
    /// <returns>1 when an entry was removed, else 0.</returns>
    public int InvalidateContextCacheDevice(ushort requesterId)
    {
        lock (_programLock)
        {
            BeginInvalidation(ref _contextInvalidations);
            _sanitizer?.NoteInvalidation(StaleCache.ContextCache, null, requesterId, _memory.WriteLog?.Sequence ?? 0);
            _sanitizer?.NoteInvalidation(StaleCache.PasidCache, null, requesterId, _memory.WriteLog?.Sequence ?? 0);
            return Interlocked.Exchange(ref _contextCache[requesterId], null) != null ? 1 : 0;
        }
    }

    /// <summary>Global PASID-cache invalidation.</summary>
    /// <returns>PASID-cache entries removed.</returns>
    public int InvalidatePasidCache()
    {
        lock (_programLock)
        {
            BeginInvalidation(ref _pasidInvalidations);
            _sanitizer?.NoteInvalidation(StaleCache.PasidCache, null, null, _memory.WriteLog?.Sequence ?? 0);
            return DropPasids(static _ => true);
        }
    }

    /// <summary>Domain-selective PASID-cache invalidation (PASID-cache Invalidate, G = 00b).</summary>
    /// <param name="domainId">DID.</param>
    /// <returns>PASID-cache entries removed.</returns>
    public int InvalidatePasidCacheDomain(ushort domainId)
    {
        lock (_programLock)
        {
            BeginInvalidation(ref _pasidInvalidations);
            _sanitizer?.NoteInvalidation(StaleCache.PasidCache, domainId, null, _memory.WriteLog?.Sequence ?? 0);
            return DropPasids(t => t.DomainId == domainId);
        }
    }

    /// <summary>PASID-selective PASID-cache invalidation (G = 01b).</summary>
    /// <param name="domainId">DID.</param>
    /// <param name="pasid">PASID.</param>
    /// <returns>PASID-cache entries removed.</returns>
    public int InvalidatePasidCache(ushort domainId, uint pasid)
    {
        lock (_programLock)
        {
            BeginInvalidation(ref _pasidInvalidations);
            _sanitizer?.NoteInvalidation(StaleCache.PasidCache, domainId, null, _memory.WriteLog?.Sequence ?? 0);
            return DropPasids(t => t.DomainId == domainId && t.PasidTag == pasid);
        }
    }

    /// <summary>Raises the invalidation sequence (full fence) before anything is cleared: fills that read
    /// tables before this point are dropped (see <see cref="Iotlb"/>).</summary>
    private void BeginInvalidation(ref long counter)
    {
        Interlocked.Increment(ref _invalidationSequence);
        counter++;
    }

    private int DropContexts(Func<ContextCacheEntry, bool> match)
    {
        int removed = 0;
        for (int rid = 0; rid < _contextCache.Length; rid++)
        {
            if (Volatile.Read(ref _contextCache[rid]) is { } context && match(context))
            {
                Volatile.Write(ref _contextCache[rid], null);
                removed++;
            }
        }
        return removed;
    }

    private int DropPasids(Func<TranslationTarget, bool> match)
    {
        int removed = 0;
        for (int rid = 0; rid < _contextCache.Length; rid++)
        {
            if (Volatile.Read(ref _contextCache[rid]) is { Scalable: true } context)
                removed += context.Invalidate(match);
        }
        return removed;
    }
}
