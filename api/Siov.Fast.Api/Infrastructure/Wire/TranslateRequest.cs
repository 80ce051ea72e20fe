using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record TranslateRequest([property: Required] string? Device, uint? Pasid, [property: Required] string? Iova, string? Access);
