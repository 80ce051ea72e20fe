using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Siov.Fast.Caching;

/// <summary>Two 128-bit compares (SSE4.1, Arm AdvSIMD).</summary>
internal readonly unsafe struct Vector128SetProbe : ISetProbe
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Match(ulong* set, ulong key)
    {
        Vector128<ulong> k = Vector128.Create(key);
        return Vector128.Equals(Vector128.Load(set), k).ExtractMostSignificantBits()
            | Vector128.Equals(Vector128.Load(set + 2), k).ExtractMostSignificantBits() << 2;
    }
}
