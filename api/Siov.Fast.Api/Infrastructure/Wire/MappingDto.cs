namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record MappingDto(string Iova, string Hpa, string Size, string Prot);
