namespace Siov.Fast.Client;

/// <summary>IOMMU_DEV_FEAT_AUX of a device.</summary>
/// <param name="Device">The device.</param>
/// <param name="Supported">Whether the device supports it.</param>
/// <param name="Enabled">Whether it is enabled.</param>
public sealed record AuxFeature(string Device, bool Supported, bool Enabled);
