using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record CreateMdevRequest([property: Required] string? Parent, [property: Required] string? Type, string? Uuid);
