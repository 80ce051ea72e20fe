using Siov.Fast.Drivers.ArmSmmuV3;
using Siov.Fast.Drivers.IntelVtd;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;

namespace Siov.Fast.Drivers;

/// <summary>Creates the driver for a unit: where the choice of vendor lives, so the core has none.</summary>
public static class IommuDrivers
{
    /// <summary>The driver for <paramref name="unit"/>: <see cref="IntelIommu"/> takes the unit through its registers;
    /// for <see cref="IommuVendor.ArmSmmuV3"/> the SMMUv3 aux-domain rules (<see cref="SmmuV3AuxDomainRules"/>) sit on it.</summary>
    /// <param name="unit">The unit.</param>
    /// <param name="vendor">Whose driver rules apply.</param>
    /// <returns>The driver.</returns>
    /// <exception cref="IommuException">As <see cref="IntelIommu"/>'s constructor (ENOMEM).</exception>
    public static IIommuDriver Create(RemappingUnit unit, IommuVendor vendor)
    {
        ArgumentNullException.ThrowIfNull(unit);
        var intel = new IntelIommu(unit, unit.Memory, unit.Options.HostAddressWidth, unit.Options.ScalableMode, unit.Options.RegisterBase);
        return vendor == IommuVendor.ArmSmmuV3 ? new SmmuV3AuxDomainRules(intel) : intel;
    }
}
