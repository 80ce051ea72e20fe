namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record DeviceDto(string Bdf, string RequesterId, string Unit, int? Group, int PasidWidth, bool Ats, bool Pri,
    bool AuxSupported, bool AuxEnabled, int? Domain, PasidDto[] Pasids, bool MdevParent, string[] ReservedRegions);
