namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record TranslateResultDto(bool Ok, string? Hpa, string? PageSize, string? Permissions, FaultInfoDto? Fault);
