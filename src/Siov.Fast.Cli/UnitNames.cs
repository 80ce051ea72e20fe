using System.Globalization;
using Siov.Fast.Hardware;
using Siov.Fast.Platforms;

namespace Siov.Fast.Cli;

/// <summary>
/// Unit names as the admin server gives them (<c>GET /units</c>) and Linux prints them: <c>dmar0</c>,
/// <c>dmar1</c>, ... in the DMAR table's DRHD order (the order of <see cref="PlatformDescription.Units"/> and of
/// <see cref="ModelledPlatform.Units"/>). A unit that is not a DRHD (an AMD IOMMU from IVRS) is
/// <c>unit@0xBASE</c>, as the server names a unit it does not list. The register base stays a field of its own.
/// </summary>
internal static class UnitNames
{
    /// <summary>The name of the unit at a register base.</summary>
    /// <param name="platform">The platform.</param>
    /// <param name="registerBase">The unit's register base.</param>
    /// <returns>dmarN, or unit@0xBASE.</returns>
    public static string Of(PlatformDescription platform, ulong registerBase)
    {
        ArgumentNullException.ThrowIfNull(platform);
        for (int i = 0; i < platform.Units.Length; i++)
            if (platform.Units[i].RegisterBase == registerBase)
                return Dmar(i);
        return Fallback(registerBase);
    }

    /// <summary>The name of a unit of a live platform.</summary>
    /// <param name="platform">The platform.</param>
    /// <param name="unit">One of its units.</param>
    /// <returns>dmarN, or unit@0xBASE.</returns>
    public static string Of(ModelledPlatform platform, IIommuHardware unit)
    {
        ArgumentNullException.ThrowIfNull(platform);
        ArgumentNullException.ThrowIfNull(unit);
        for (int i = 0; i < platform.Units.Count; i++)
            if (platform.Units[i] == unit)
                return Dmar(i);
        return Fallback(unit.RegisterBase);
    }

    private static string Dmar(int index) => "dmar" + index.ToString(CultureInfo.InvariantCulture);

    private static string Fallback(ulong registerBase) => "unit@0x" + registerBase.ToString("x", CultureInfo.InvariantCulture);
}
