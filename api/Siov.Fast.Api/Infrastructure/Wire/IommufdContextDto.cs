namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record IommufdContextDto(int Id, IommufdObjectDto[] Objects);
