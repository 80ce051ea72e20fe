namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary>A page group response the modelled function received: PASID (null when none), PRG index and the code
/// ("success", "invalid", "failure").</summary>
internal sealed record PageResponseDto(uint? Pasid, int Group, string Code);
