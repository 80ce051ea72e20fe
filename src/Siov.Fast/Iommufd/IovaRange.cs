namespace Siov.Fast.Iommufd;

/// <summary>An inclusive IOVA range, as <c>struct iommu_iova_range</c> has it.</summary>
/// <param name="Start">First IOVA.</param>
/// <param name="Last">Last IOVA (inclusive).</param>
public readonly record struct IovaRange(ulong Start, ulong Last);
