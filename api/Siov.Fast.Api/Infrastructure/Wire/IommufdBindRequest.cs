using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record IommufdBindRequest([property: Required] string? Device);
