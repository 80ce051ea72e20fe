namespace Siov.Fast.Client;

/// <summary>A PCI device (<c>GET /devices/{bdf}</c>).</summary>
/// <param name="Bdf">Its PCI address, BB:DD.F.</param>
/// <param name="RequesterId">Its requester id, "0x...." hex.</param>
/// <param name="Unit">The remapping unit that translates its DMA (dmar0, dmar1, ...).</param>
/// <param name="Group">Its iommu group, if any.</param>
/// <param name="PasidWidth">PASID bits it supports (0: none).</param>
/// <param name="Ats">Whether it has ATS.</param>
/// <param name="Pri">Whether it has PRI.</param>
/// <param name="AuxSupported">Whether it supports aux domains.</param>
/// <param name="AuxEnabled">Whether aux domains are enabled on it.</param>
/// <param name="Domain">The domain it is attached to (no PASID), if any.</param>
/// <param name="Pasids">Domains attached at its PASIDs.</param>
/// <param name="MdevParent">Whether it is an mdev parent.</param>
public sealed record DeviceInfo(string Bdf, string RequesterId, string Unit, int? Group, int PasidWidth, bool Ats, bool Pri,
    bool AuxSupported, bool AuxEnabled, int? Domain, IReadOnlyList<DevicePasid> Pasids, bool MdevParent);
