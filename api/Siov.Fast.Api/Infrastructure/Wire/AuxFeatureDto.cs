namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record AuxFeatureDto(string Device, bool Supported, bool Enabled);
