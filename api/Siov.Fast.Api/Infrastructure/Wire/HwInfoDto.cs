namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record HwInfoDto(string Type, uint DataType, uint Flags, string CapReg, string EcapReg, bool DirtyTracking);
