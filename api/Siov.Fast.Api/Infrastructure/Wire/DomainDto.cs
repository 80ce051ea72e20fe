namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record DomainDto(int Id, string Type, bool IsAux, string Mode, uint? Pasid, int? Levels, int? AddressWidth,
    string MappedBytes, int? TablePages, int? TablePageLimit, int[] Groups, string[] AuxDevices, DomainIdDto[] DomainIds, string? Owner);
