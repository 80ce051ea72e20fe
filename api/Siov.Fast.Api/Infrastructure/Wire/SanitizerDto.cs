namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record SanitizerDto(string Unit, bool Enabled, long Comparisons, long StaleTranslations, StaleReportDto[] Reports);
