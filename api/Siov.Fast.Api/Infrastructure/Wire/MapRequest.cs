using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record MapRequest([property: Required] string? Iova, [property: Required] string? Hpa, [property: Required] string? Size, string? Prot);
