namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record ContainerDto(int Id, int[] Groups, int[] Domains, MappingDto[] Mappings, MappingDto[] Pinned);
