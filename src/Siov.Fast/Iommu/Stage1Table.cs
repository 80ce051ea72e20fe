namespace Siov.Fast.Iommu;

/// <summary>
/// A guest's stage-1 table for a nested domain (the vendor-neutral part of VT-d's <c>iommu_hwpt_vtd_s1</c>): its root
/// as a GPA, its depth, and the mode controls the guest asked for.
/// </summary>
/// <param name="Root">The table's root GPA (VT-d FLPTPTR), 4 KiB aligned.</param>
/// <param name="Levels">4 (48-bit) or 5 (57-bit).</param>
/// <param name="SupervisorRequests">Privileged requests allowed (VT-d SRE).</param>
/// <param name="WriteProtect">Supervisor writes obey R/W (VT-d WPE).</param>
public readonly record struct Stage1Table(ulong Root, int Levels, bool SupervisorRequests = false, bool WriteProtect = false);
