using System.Runtime.CompilerServices;

namespace Siov.Fast.Caching;

/// <summary>
/// A context-cache entry for one requester id. In legacy mode <see cref="NoPasid"/> is the
/// context entry's translation; in scalable mode it is the RID_PASID entry and
/// <see cref="_pasidCache"/> caches PASID entries in the directory/table shape of the hardware
/// ([PASID 19:6][PASID 5:0]), filled lazily.
/// </summary>
internal sealed class ContextCacheEntry
{
    private readonly TranslationTarget?[]?[] _pasidCache;

    public ContextCacheEntry(TranslationTarget legacyTarget, bool faultProcessingDisable, bool deviceTlbEnabled = false)
    {
        NoPasid = legacyTarget;
        FaultProcessingDisable = faultProcessingDisable;
        DeviceTlbEnabled = deviceTlbEnabled;
        _pasidCache = [];
    }

    public ContextCacheEntry(bool pasidEnabled, uint ridPasid, uint pasidLimit, ulong pasidDirectory, bool faultProcessingDisable,
        bool deviceTlbEnabled = false, bool pageRequestEnabled = false)
    {
        Scalable = true;
        DeviceTlbEnabled = deviceTlbEnabled;
        PageRequestEnabled = pageRequestEnabled;
        PasidEnabled = pasidEnabled;
        RidPasid = ridPasid;
        PasidLimit = pasidLimit;
        PasidDirectory = pasidDirectory;
        FaultProcessingDisable = faultProcessingDisable;
        _pasidCache = new TranslationTarget?[]?[pasidLimit >> 6];
    }

    public readonly bool Scalable;
    public readonly bool PasidEnabled;
    public readonly uint RidPasid;
    public readonly uint PasidLimit;
    public readonly ulong PasidDirectory;
    public readonly bool FaultProcessingDisable;

    /// <summary>ATS allowed: DTE in a scalable-mode context entry, TT = 01b in a legacy one.</summary>
    public readonly bool DeviceTlbEnabled;

    /// <summary>PRE in a scalable-mode context entry: page requests accepted.</summary>
    public readonly bool PageRequestEnabled;

    /// <summary>The translation for requests without a PASID (null until filled in scalable mode).</summary>
    public TranslationTarget? NoPasid;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TranslationTarget? Lookup(in DmaRequest request)
    {
        // One compare per case: no PASID and no attributes, or a PASID and no attributes. A privileged or execute
        // request gets null, so it takes the slow path (its rights differ from the user rights the IOTLB caches).
        byte flags = request.Flags;
        if (flags == 0)
            return NoPasid;
        return flags == DmaRequest.PlainPasidFlags ? LookupPasid(request.Pasid) : null;
    }

    /// <summary>The PASID-cache entry of <paramref name="pasid"/>, whatever the request's attributes; null on a miss.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TranslationTarget? LookupPasid(uint pasid)
    {
        if (pasid >= PasidLimit || !PasidEnabled)
            return null;
        TranslationTarget?[]? row = _pasidCache[pasid >> 6];
        return row?[pasid & 63];
    }

    /// <summary>Installs a PASID-cache entry; returns the slot so the caller can undo a stale fill.</summary>
    public ref TranslationTarget? Slot(uint pasid)
    {
        ref TranslationTarget?[]? row = ref _pasidCache[pasid >> 6];
        if (row == null)
            Interlocked.CompareExchange(ref row, new TranslationTarget?[64], null);
        return ref row![pasid & 63];
    }

    /// <summary>Drops cached PASID entries that match; returns how many.</summary>
    public int Invalidate(Func<TranslationTarget, bool> match)
    {
        int removed = 0;
        if (NoPasid is { } noPasid && Scalable && match(noPasid))
        {
            Volatile.Write(ref NoPasid, null);
            removed++;
        }
        foreach (TranslationTarget?[]? row in _pasidCache)
        {
            if (row == null)
                continue;
            for (int i = 0; i < row.Length; i++)
            {
                if (row[i] is { } target && match(target))
                {
                    Volatile.Write(ref row[i], null);
                    removed++;
                }
            }
        }
        return removed;
    }
}
