using System.Globalization;
using System.Text;
using Siov.Fast.Platforms;

namespace Siov.Fast.Cli;

/// <summary>
/// The text form of <c>siov platform show</c>: units by name (<see cref="UnitNames"/>) with their register
/// base beside it, their registers and scopes, IVHD blocks, devices with their unit and group, and each
/// group's sysfs paths.
/// </summary>
internal static class PlatformText
{
    /// <summary>Renders a platform.</summary>
    /// <param name="platform">The platform.</param>
    /// <returns>The text, one item a line.</returns>
    public static string Describe(PlatformDescription platform)
    {
        ArgumentNullException.ThrowIfNull(platform);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"host address width: {platform.HostAddressWidth}").AppendLine();
        foreach (PlatformUnit u in platform.Units)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"unit {UnitNames.Of(platform, u.RegisterBase)} reg_base_addr {Hex(u.RegisterBase)} segment {u.Segment}{(u.IncludePciAll ? " INCLUDE_PCI_ALL" : "")}").AppendLine();
            text.Append(CultureInfo.InvariantCulture, $"  cap {u.Capability:x} ecap {u.ExtendedCapability:x} profile {u.ProfileName}").AppendLine();
            foreach (DeviceScope s in u.Scopes)
                text.Append(CultureInfo.InvariantCulture, $"  scope {s.Type} {s}").AppendLine();
        }
        foreach (IvhdBlock h in platform.Ivrs?.HardwareDefinitions ?? [])
            text.Append(CultureInfo.InvariantCulture,
                $"ivhd {h.Type:x2}h iommu {Hex(h.IommuBase)} device {IvhdDeviceEntry.FormatDeviceId(h.DeviceId)} entries {h.Entries.Length}").AppendLine();
        foreach (PlatformDevice d in platform.Devices)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"device {d.Address} unit {(d.UnitRegisterBase is ulong b ? UnitNames.Of(platform, b) : "none")} group {d.GroupId}");
            if (d.AtsAllowed)
                text.Append(" ats");
            if (d.Satc)
                text.Append(" satc");
            foreach (ReservedRegion r in d.ReservedRegions)
                text.Append(" rmrr ").Append(r);
            text.AppendLine();
        }
        foreach (GroupDescription g in platform.Groups)
            foreach (string path in g.SysfsPaths)
                text.AppendLine(path);
        return text.ToString();
    }

    private static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}
