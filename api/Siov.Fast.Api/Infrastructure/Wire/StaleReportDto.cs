namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record StaleReportDto(string Device, uint? Pasid, string Iova, string Cache, int Did, string MissingInvalidation,
    ChangedEntryDto? ChangedEntry, string Text);
