namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record PasidAttachmentDto(uint Pasid, uint Hwpt);
