using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record MapBatchRequest([property: Required] MapRequest[]? Mappings);
