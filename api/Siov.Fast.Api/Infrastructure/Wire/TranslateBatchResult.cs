namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record TranslateBatchResult(TranslateResultDto[] Results);
