using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Siov.Fast.Caching;

/// <summary>One 256-bit compare (AVX2).</summary>
internal readonly unsafe struct Vector256SetProbe : ISetProbe
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Match(ulong* set, ulong key) =>
        Vector256.Equals(Vector256.Load(set), Vector256.Create(key)).ExtractMostSignificantBits();
}
