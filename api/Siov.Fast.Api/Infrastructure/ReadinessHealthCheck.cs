using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Siov.Fast.Api.Durability;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>Ready when the platform is loaded (it has units) and the state journal, when the server keeps state, is
/// open and writable (<see cref="StateJournal.ProbeWritable"/>). An ephemeral server has no journal to check.</summary>
internal sealed class ReadinessHealthCheck(PlatformState state, IOptions<SiovOptions> options) : IHealthCheck
{
    /// <inheritdoc/>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (state.Platform.Iommus.Count == 0)
            return Task.FromResult(HealthCheckResult.Unhealthy($"platform {state.Platform.Name} has no IOMMU"));
        StateJournal? journal = state.Journal;
        if (journal == null)
        {
            return Task.FromResult(options.Value.State.Ephemeral || options.Value.State.Directory == null
                ? HealthCheckResult.Healthy($"platform {state.Platform.Name}; ephemeral")
                : HealthCheckResult.Unhealthy("the state journal is not open"));
        }
        return Task.FromResult(journal.ProbeWritable() is { } problem
            ? HealthCheckResult.Unhealthy(problem)
            : HealthCheckResult.Healthy($"platform {state.Platform.Name}; journal {journal.Directory}"));
    }
}
