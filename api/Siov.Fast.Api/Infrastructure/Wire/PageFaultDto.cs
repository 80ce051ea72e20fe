namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary>A record read from a fault object (<c>struct iommu_hwpt_pgfault</c>): flags (pasid_valid, last_page), the
/// device id, PASID, PRG index, permissions (read, write, exec, priv), the page's address in hex, its length and the
/// group's cookie.</summary>
internal sealed record PageFaultDto(string[] Flags, uint DevId, uint Pasid, uint Grpid, string[] Perm, string Addr, uint Length, uint Cookie);
