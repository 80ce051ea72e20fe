namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record IoasMapResult(string Iova);
