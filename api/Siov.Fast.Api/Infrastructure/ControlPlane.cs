
namespace Siov.Fast.Api.Infrastructure;

/// <summary>
/// Serializes the object-model calls of the API on <see cref="PlatformState.ControlLock"/>: container close, group
/// attach and detach, mdev remove, domain free and the rest run one at a time, and GETs read between them, so no
/// interleaving leaves an orphan and every answer is one consistent snapshot. Bodies are bound before the lock is
/// taken (a slow client holds nobody up); waiting observes the client going away.
/// </summary>
internal static class ControlPlane
{
    /// <summary>Adds the control lock to every endpoint of <paramref name="builder"/>.</summary>
    public static TBuilder WithControlLock<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (invocation, next) =>
        {
            PlatformState state = invocation.HttpContext.RequestServices.GetRequiredService<PlatformState>();
            await state.ControlLock.WaitAsync(invocation.HttpContext.RequestAborted).ConfigureAwait(false);
            try
            {
                return await next(invocation).ConfigureAwait(false);
            }
            finally
            {
                state.ControlLock.Release();
            }
        });

    /// <summary>Runs <paramref name="work"/> under the control lock (for handlers that read their own body first).</summary>
    public static async Task<T> RunLockedAsync<T>(this PlatformState state, Func<T> work, CancellationToken cancellation)
    {
        await state.ControlLock.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            return work();
        }
        finally
        {
            state.ControlLock.Release();
        }
    }
}
