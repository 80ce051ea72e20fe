using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record IoasMapRequest(string? Iova, [property: Required] string? Hpa, [property: Required] string? Length, string? Prot);
