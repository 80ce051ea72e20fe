namespace Siov.Fast.Concurrency;

/// <summary>
/// A small dense number per thread (1, 2, 3, ...), handed out on a thread's first use and
/// never reused. Per-thread counter blocks and epoch slots are indexed by it, so the hit path
/// finds its own cache line with one thread-static read and no hashing.
/// </summary>
internal static class ThreadIndex
{
    [ThreadStatic]
    private static int t_index;

    private static int s_last;

    /// <summary>This thread's index (1-based).</summary>
    public static int Current
    {
        get
        {
            int index = t_index;
            return index != 0 ? index : Assign();
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static int Assign() => t_index = Interlocked.Increment(ref s_last);
}
