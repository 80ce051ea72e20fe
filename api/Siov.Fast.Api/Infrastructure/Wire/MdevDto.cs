namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record MdevDto(string Uuid, string Parent, string Type, int? Group, string? IommuDevice, string Isolation, int? Domain);
