using Siov.Fast.Drivers.ArmSmmuV3;
using Siov.Fast.Drivers.IntelVtd;
using Siov.Fast.Hardware;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;

namespace Siov.Fast.Drivers;

/// <summary>Creates the driver for an IOMMU: where the choice of vendor lives, so the core has none.</summary>
public static class IommuDrivers
{
    /// <summary>The driver for <paramref name="unit"/>: <see cref="IntelIommu"/> for a VT-d remapping unit,
    /// <see cref="ArmSmmuV3Driver"/> for an SMMUv3; each takes its hardware through its registers.</summary>
    /// <param name="unit">The IOMMU.</param>
    /// <returns>The driver.</returns>
    /// <exception cref="IommuException">EOPNOTSUPP for hardware no driver here knows, or an SMMU without the features the
    /// driver uses; ENOMEM as the drivers' constructors.</exception>
    public static IIommuDriver Create(IIommuHardware unit)
    {
        ArgumentNullException.ThrowIfNull(unit);
        return unit switch
        {
            RemappingUnit vtd => new IntelIommu(vtd, vtd.Memory, vtd.Options.HostAddressWidth, vtd.Options.ScalableMode, vtd.Options.RegisterBase),
            Smmu smmu => new ArmSmmuV3Driver(smmu, smmu.Memory),
            _ => throw new IommuException(Errno.EOPNOTSUPP, $"no driver for {unit.GetType().Name} at {Throw.Hex(unit.RegisterBase)}"),
        };
    }
}
