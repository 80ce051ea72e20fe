using System.Globalization;
using System.Text;
using Siov.Fast.Platforms;

namespace Siov.Fast.Cli;

/// <summary>
/// <c>siov platform show --tree</c>: an <c>lspci -t</c>-like tree with the remapping units at the top, under
/// each unit the devices it translates, under a bridge the devices on its secondary bus that the same unit
/// translates, and each device's iommu group. A device whose bridge belongs to another unit sits at its own
/// unit's top level with the bridge named. Bridges are known from lspci text; without it (and on the embedded
/// default platform) every device is at its unit's top level.
/// </summary>
internal static class PlatformTree
{
    /// <summary>The tree of a platform read from its tables.</summary>
    /// <param name="platform">The platform.</param>
    /// <param name="title">The first line (e.g. the DMAR's OEM table id).</param>
    /// <returns>The tree text.</returns>
    public static string Render(PlatformDescription platform, string title)
    {
        ArgumentNullException.ThrowIfNull(platform);
        var units = platform.Units.Select(u => new Unit(UnitNames.Of(platform, u.RegisterBase),
            string.Create(CultureInfo.InvariantCulture, $"reg_base_addr 0x{u.RegisterBase:x} segment {u.Segment}{(u.IncludePciAll ? " INCLUDE_PCI_ALL" : "")}"))).ToList();
        var groupSizes = platform.Groups.ToDictionary(g => g.Id, g => g.Devices.Length);
        var nodes = new List<Node>();
        foreach (PlatformDevice d in platform.Devices)
        {
            string? unit = d.UnitRegisterBase is ulong b ? UnitNames.Of(platform, b) : null;
            if (unit is not null && units.All(u => u.Name != unit))
                units.Add(new Unit(unit, "AMD-Vi (IVRS)"));
            PciFunction? bridge = platform.Topology?.BridgeTo(d.Address.Segment, d.Address.Bus);
            nodes.Add(new Node(d.Address, unit, Label(d.Function, d.GroupId, groupSizes[d.GroupId]), bridge?.Address));
        }
        return Render(title, units, nodes);
    }

    /// <summary>The tree of a live platform (the embedded default one, or one built from tables).</summary>
    /// <param name="platform">The platform.</param>
    /// <returns>The tree text.</returns>
    public static string Render(ModelledPlatform platform)
    {
        ArgumentNullException.ThrowIfNull(platform);
        if (platform.Source is { } source)
            return Render(source, platform.Name);
        var units = platform.Units.Select(u => new Unit(UnitNames.Of(platform, u),
            string.Create(CultureInfo.InvariantCulture, $"reg_base_addr 0x{u.Options.RegisterBase:x}{(u == platform.CatchAllUnit ? " INCLUDE_PCI_ALL" : "")}"))).ToList();
        var nodes = platform.Core.PciDevices
            .OrderBy(d => d.Address)
            .Select(d => new Node(d.Address, UnitNames.Of(platform, d.Unit),
                Label(null, d.Group?.Id, d.Group?.Devices.Count ?? 0), null))
            .ToList();
        return Render(platform.Name, units, nodes);
    }

    private static string Label(PciFunction? function, int? group, int groupSize)
    {
        var label = new StringBuilder();
        if (function is { IsBridge: true })
            label.Append(CultureInfo.InvariantCulture, $" bridge [bus {function.SecondaryBus:x2}-{function.SubordinateBus:x2}]");
        if (group is int id)
            label.Append(CultureInfo.InvariantCulture, $" group {id}{(groupSize > 1 ? $" ({groupSize} devices)" : "")}");
        return label.ToString();
    }

    private static string Render(string title, List<Unit> units, List<Node> nodes)
    {
        var text = new StringBuilder(TerminalText.Escape(title)).AppendLine();
        var byAddress = nodes.ToDictionary(n => n.Address);
        List<(string Label, List<Node> Roots)> tops = [];
        foreach (Unit unit in units)
            tops.Add(($"{unit.Name} {unit.Detail}", Roots(nodes, byAddress, unit.Name)));
        if (nodes.Any(n => n.Unit is null))
            tops.Add(("no remapping unit", Roots(nodes, byAddress, null)));
        for (int i = 0; i < tops.Count; i++)
        {
            bool last = i == tops.Count - 1;
            text.Append(last ? @"\-" : "+-").Append(tops[i].Label).AppendLine();
            Children(text, last ? "  " : "| ", tops[i].Roots, nodes, byAddress);
        }
        return text.ToString();
    }

    private static List<Node> Roots(List<Node> nodes, Dictionary<PciAddress, Node> byAddress, string? unit) =>
        nodes.Where(n => n.Unit == unit && (n.Parent is not PciAddress p || !byAddress.TryGetValue(p, out Node? parent) || parent.Unit != unit)).ToList();

    private static void Children(StringBuilder text, string indent, List<Node> children, List<Node> nodes, Dictionary<PciAddress, Node> byAddress)
    {
        for (int i = 0; i < children.Count; i++)
        {
            Node node = children[i];
            bool last = i == children.Count - 1;
            text.Append(indent).Append(last ? @"\-" : "+-").Append(node.Address.ToString()).Append(node.Label);
            if (node.Parent is PciAddress p && byAddress.TryGetValue(p, out Node? parent) && parent.Unit != node.Unit)
                text.Append(" (behind ").Append(p.ToString()).Append(", ").Append(parent.Unit ?? "no remapping unit").Append(')');
            text.AppendLine();
            Children(text, indent + (last ? "  " : "| "),
                nodes.Where(n => n.Parent == node.Address && n.Unit == node.Unit).ToList(), nodes, byAddress);
        }
    }

    private sealed record Unit(string Name, string Detail);

    private sealed record Node(PciAddress Address, string? Unit, string Label, PciAddress? Parent);
}
