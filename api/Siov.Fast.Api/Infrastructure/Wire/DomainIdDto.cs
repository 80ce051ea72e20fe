namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record DomainIdDto(string Unit, int Did);
