using System.Runtime.CompilerServices;

namespace Siov.Fast.Caching;

/// <summary>A loop over the ways (lane 0 is left out).</summary>
internal readonly unsafe struct ScalarSetProbe : ISetProbe
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Match(ulong* set, ulong key)
    {
        uint match = 0;
        for (int way = 1; way <= Iotlb.Ways; way++)
            match |= set[way] == key ? 1u << way : 0;
        return match;
    }
}
