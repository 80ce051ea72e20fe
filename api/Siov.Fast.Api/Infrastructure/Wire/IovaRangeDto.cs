namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record IovaRangeDto(string? Start, string? Last);
