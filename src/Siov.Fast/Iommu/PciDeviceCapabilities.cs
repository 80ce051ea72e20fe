namespace Siov.Fast.Iommu;

/// <summary>The PCIe capabilities of a function that matter to the IOMMU.</summary>
public sealed record PciDeviceCapabilities
{
    /// <summary>Max PASID width in bits from the PASID capability (PCIe spec 7.8.8), 0 when the
    /// function has no PASID capability; 1 to 20 otherwise.</summary>
    public int PasidWidth { get; init; }

    /// <summary>Address Translation Services capability (PCIe spec 10).</summary>
    public bool Ats { get; init; }

    /// <summary>Page Request Interface capability.</summary>
    public bool Pri { get; init; }

    /// <summary>A function with none of the three (a plain endpoint).</summary>
    public static PciDeviceCapabilities None { get; } = new();

    /// <summary>A function with 20-bit PASIDs, ATS and PRI, as a Scalable IOV device has.</summary>
    public static PciDeviceCapabilities ScalableIov { get; } = new() { PasidWidth = 20, Ats = true, Pri = true };
}
