namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record PasidDto(uint Pasid, int Domain, bool Aux);
