namespace Siov.Fast.Client;

/// <summary>A mediated device (<c>GET /mdevs/{uuid}</c>).</summary>
/// <param name="Uuid">Its UUID.</param>
/// <param name="Parent">Its parent's PCI address.</param>
/// <param name="Type">Its mdev type id.</param>
/// <param name="Group">Its iommu group, if any.</param>
/// <param name="IommuDevice">The device whose IOMMU context it uses (its parent, for an aux-domain mdev).</param>
/// <param name="Isolation">How it is isolated.</param>
/// <param name="Domain">The domain it is attached to, if any.</param>
public sealed record Mdev(string Uuid, string Parent, string Type, int? Group, string? IommuDevice, string Isolation, int? Domain);
