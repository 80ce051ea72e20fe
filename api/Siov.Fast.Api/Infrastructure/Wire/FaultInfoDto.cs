namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record FaultInfoDto(string Code, string Reason);
