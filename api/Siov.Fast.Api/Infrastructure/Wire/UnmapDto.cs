namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record UnmapDto(string Iova, string Size, string Unmapped);
