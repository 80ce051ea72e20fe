namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record ChangedEntryDto(string Hpa, string Old, string New, long Write);
