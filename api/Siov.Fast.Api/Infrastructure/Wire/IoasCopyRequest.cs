using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record IoasCopyRequest([property: Required] uint? SrcIoas, [property: Required] string? SrcIova, [property: Required] string? Length, string? Iova, string? Prot);
