using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record HwptInvalidateRequest([property: Required] string? Addr, [property: Required] string? Npages, bool? Leaf);
