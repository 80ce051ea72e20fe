namespace Siov.Fast.Client;

/// <summary>An attach (<c>POST /domains/{id}/attachments</c>): {group} or {device} normally; {device, aux: true} as an aux
/// domain; {group, device, aux: true} for an mdev group; {device or group, pasid} at a PASID.</summary>
/// <param name="Device">A PCI address.</param>
/// <param name="Group">An iommu group id.</param>
/// <param name="Aux">Attach as an aux domain.</param>
/// <param name="Pasid">Attach at this PASID.</param>
public sealed record AttachRequest(string? Device = null, int? Group = null, bool? Aux = null, uint? Pasid = null);
