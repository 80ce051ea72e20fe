namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary>A unit's faults: a VT-d unit's fault records (<c>Faults</c>), or an SMMUv3's events as its driver logged them
/// (<c>Events</c>, Linux's <c>arm_smmu_evtq_thread</c> lines; null on VT-d), with <c>Recorded</c> and <c>Dropped</c> the
/// events queued and lost to a full queue.</summary>
internal sealed record FaultLogDto(string Unit, bool PrimaryFaultOverflow, long Recorded, long Dropped, FaultDto[] Faults, string[]? Events = null);
