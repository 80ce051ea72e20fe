namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary>A container in a listing: its mappings counted, not listed (a listing stays small whatever the containers hold).</summary>
internal sealed record ContainerSummaryDto(int Id, int[] Groups, int[] Domains, int MappingCount, string MappedBytes);
