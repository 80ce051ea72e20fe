using System.Runtime.CompilerServices;

namespace Siov.Fast.Workloads;

/// <summary>
/// The splitmix64 generator of the standard workloads (docs/workloads.md): a 64-bit state
/// advanced by the golden-ratio increment, then two xor-shift-multiply rounds. Every
/// implementation that follows the document draws the same numbers from the same seed.
/// </summary>
/// <remarks>A mutable struct: keep it in a local or a field and pass it by reference.</remarks>
public struct SplitMix64
{
    /// <summary>The increment added to the state per call (2^64 / golden ratio).</summary>
    public const ulong Increment = 0x9E37_79B9_7F4A_7C15UL;

    private ulong _state;

    /// <summary>Creates a generator whose state starts at <paramref name="state"/>.</summary>
    /// <param name="state">Initial state; the standard workloads use <c>seed + thread</c>.</param>
    public SplitMix64(ulong state) => _state = state;

    /// <summary>The generator of worker thread <paramref name="thread"/>: state <c>seed + thread</c> (mod 2^64).</summary>
    /// <param name="seed">The run's seed (default 42).</param>
    /// <param name="thread">Worker thread number, from 0.</param>
    /// <returns>The generator.</returns>
    public static SplitMix64 ForThread(ulong seed, int thread) => new(unchecked(seed + (ulong)thread));

    /// <summary>The current state (the value the next call adds <see cref="Increment"/> to).</summary>
    public readonly ulong State => _state;

    /// <summary>Advances the state and returns the next number.</summary>
    /// <returns>A uniformly distributed 64-bit number.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Next()
    {
        ulong z = _state += Increment;
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }
}
