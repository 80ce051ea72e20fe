namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record IommufdObjectDto(uint Id, string Type, int Users, int? AreaCount = null, MappingDto[]? Areas = null, IovaRangeDto[]? IovaRanges = null,
    string? Device = null, uint? AttachedTo = null, uint? Ioas = null, int? Domain = null, bool? Auto = null, string[]? Flags = null,
    bool? DirtyTracking = null, uint? Parent = null, VtdS1Dto? VtdS1 = null, PasidAttachmentDto[]? Pasids = null,
    uint? FaultId = null, int? Unread = null, int? AwaitingResponse = null);
