namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record FaultDto(string Unit, string SourceId, uint? Pasid, string Address, string ReasonCode, string Reason, bool Write, string Linux);
