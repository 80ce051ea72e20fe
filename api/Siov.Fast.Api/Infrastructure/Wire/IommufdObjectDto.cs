using System.Text.Json;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.PageTables;
using Siov.Fast.Platforms;
using Siov.Fast.Vfio;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record IommufdObjectDto(uint Id, string Type, int Users, int? AreaCount = null, MappingDto[]? Areas = null, IovaRangeDto[]? IovaRanges = null,
    string? Device = null, uint? AttachedTo = null, uint? Ioas = null, int? Domain = null, bool? Auto = null, string[]? Flags = null,
    bool? DirtyTracking = null, uint? Parent = null, VtdS1Dto? VtdS1 = null, PasidAttachmentDto[]? Pasids = null,
    uint? FaultId = null, int? Unread = null, int? AwaitingResponse = null);
