using System.Collections.Immutable;
using System.Globalization;

namespace Siov.Fast.Platforms;

/// <summary>An iommu group: devices that the IOMMU cannot isolate from one another.</summary>
/// <param name="Id">Group number, 0.. in order of each group's lowest address.</param>
/// <param name="Devices">The members, sorted by address.</param>
public sealed record GroupDescription(int Id, ImmutableArray<PciAddress> Devices)
{
    /// <summary>The sysfs link paths, <c>/sys/kernel/iommu_groups/N/devices/0000:BB:DD.F</c>.</summary>
    public IEnumerable<string> SysfsPaths =>
        Devices.Select(d => string.Create(CultureInfo.InvariantCulture, $"/sys/kernel/iommu_groups/{Id}/devices/{d}"));
}
