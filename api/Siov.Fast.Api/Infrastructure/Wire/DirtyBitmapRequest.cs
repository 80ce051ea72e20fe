using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record DirtyBitmapRequest([property: Required] string? Iova, [property: Required] string? Length, [property: Required] string? PageSize, bool? NoClear);
