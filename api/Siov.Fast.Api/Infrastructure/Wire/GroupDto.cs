namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record GroupDto(int Id, string[] Devices, string[] Sysfs, int? Domain, int? DefaultDomain, string? AuxParent, bool InContainer, string? Owner);
