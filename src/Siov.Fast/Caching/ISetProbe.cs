namespace Siov.Fast.Caching;

/// <summary>A set compare the batch loop inlines: a mask with bit w set when way w's tag equals the key (lane 0, the version, may be set too: callers mask it).</summary>
internal unsafe interface ISetProbe
{
    /// <summary>Compares the first four words of a set with <paramref name="key"/>.</summary>
    static abstract uint Match(ulong* set, ulong key);
}
