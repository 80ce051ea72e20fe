using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>The server's health checks, registered with ASP.NET Core's health-check framework and tagged
/// <see cref="Live"/> (<c>/healthz</c>) or <see cref="Ready"/> (<c>/healthz/ready</c>).</summary>
internal static class HealthChecks
{
    /// <summary>The tag of the liveness checks.</summary>
    public const string Live = "live";

    /// <summary>The tag of the readiness checks.</summary>
    public const string Ready = "ready";

    /// <summary>Registers the checks: <c>process</c> (live: the server answers) and <c>state</c> (ready: the platform is
    /// loaded, and the state journal, when there is one, is open and writable).</summary>
    public static IHealthChecksBuilder AddSiovHealthChecks(this IServiceCollection services) =>
        services.AddHealthChecks()
            .AddCheck("process", () => HealthCheckResult.Healthy(), tags: [Live])
            .AddCheck<ReadinessHealthCheck>("state", tags: [Ready]);
}
