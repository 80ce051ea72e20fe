namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record AttachRequest(string? Device, int? Group, bool? Aux, uint? Pasid);
