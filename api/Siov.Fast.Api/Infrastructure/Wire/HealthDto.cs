namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary>A health answer: <c>ok</c>, or <c>unhealthy</c> with what is wrong.</summary>
internal sealed record HealthDto(string Status, string? Detail = null);
