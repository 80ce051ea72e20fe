using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

/// <summary>A device of a platform with what the tables and the topology say about it.</summary>
/// <param name="Address">The device address.</param>
/// <param name="Function">What lspci showed, or null without lspci text.</param>
/// <param name="UnitRegisterBase">Register base of the remapping unit (or AMD IOMMU) that translates for it; null when none does.</param>
/// <param name="GroupId">Its iommu group.</param>
/// <param name="ReservedRegions">RMRR ranges it needs identity-mapped.</param>
/// <param name="AtsAllowed">The platform lets it use ATS (ATSR root port, ALL_PORTS, or SATC).</param>
/// <param name="Satc">Listed in a SATC structure.</param>
/// <param name="AtcRequired">Listed in a SATC structure with ATC_REQUIRED: the device needs its ATC for functional reasons;
/// a unit in legacy mode enables ATS for it by itself, so the OS must not (Linux's <c>dmar_ats_supported</c>).</param>
public sealed record PlatformDevice(
    PciAddress Address, PciFunction? Function, ulong? UnitRegisterBase, int GroupId,
    ImmutableArray<ReservedRegion> ReservedRegions, bool AtsAllowed, bool Satc, bool AtcRequired = false);
