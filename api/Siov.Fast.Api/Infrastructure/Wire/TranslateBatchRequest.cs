using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record TranslateBatchRequest([property: Required] TranslateRequest[]? Requests);
