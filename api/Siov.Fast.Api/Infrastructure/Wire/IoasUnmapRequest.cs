using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record IoasUnmapRequest([property: Required] string? Iova, [property: Required] string? Length);
