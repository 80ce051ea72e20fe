using Siov.Fast.Remapping;

namespace Siov.Fast.Tests;

/// <summary>
/// The stress tests' oracle: each mapping's HPA encodes its page and a generation number, so a
/// translation can be told apart as current, stale (from a mapping whose unmap and invalidation had
/// returned before the translation started) or torn/foreign (another page, a lost offset, a
/// generation not yet published).
/// </summary>
internal static class StaleDetector
{
    public const ulong HpaBase = 0x100_0000_0000;

    public enum Verdict
    {
        Ok,
        Stale,
        Torn,
    }

    /// <summary>The HPA of <paramref name="page"/> (below 256) when mapped for the <paramref name="generation"/>th time.</summary>
    public static ulong HpaOf(int page, long generation) => HpaBase + ((((ulong)generation << 8) | (uint)page) << 12);

    /// <param name="result">A successful translation of <paramref name="page"/> at <paramref name="offset"/>.</param>
    /// <param name="unmappedBefore">The generation whose unmap had returned before the translation started.</param>
    /// <param name="latest">The newest generation published after it returned.</param>
    public static Verdict Classify(TranslationResult result, int page, ulong offset, long unmappedBefore, long latest)
    {
        ulong frame = (result.Hpa - HpaBase) >> 12;
        long generation = (long)(frame >> 8);
        if (result.Hpa < HpaBase || (int)(frame & 0xFF) != page || (result.Hpa & 0xFFF) != offset || generation > latest)
            return Verdict.Torn;
        return generation <= unmappedBefore ? Verdict.Stale : Verdict.Ok;
    }
}
