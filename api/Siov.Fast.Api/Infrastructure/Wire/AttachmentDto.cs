namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record AttachmentDto(string Kind, string? Device, int? Group, uint? Pasid);
