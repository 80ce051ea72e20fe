namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record FaultLogDto(string Unit, bool PrimaryFaultOverflow, long Recorded, long Dropped, FaultDto[] Faults);
