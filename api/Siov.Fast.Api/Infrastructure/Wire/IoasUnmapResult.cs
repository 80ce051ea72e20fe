namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record IoasUnmapResult(string Unmapped);
