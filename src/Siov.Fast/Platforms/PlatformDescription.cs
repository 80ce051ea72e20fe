using System.Collections.Immutable;
using System.Text;
using Siov.Fast.Hardware.Vtd;

namespace Siov.Fast.Platforms;

/// <summary>
/// A real platform as pure data: its remapping units, devices, iommu groups and reserved regions,
/// built from the firmware tables (DMAR and/or IVRS), lspci text and the boot log.
/// </summary>
/// <remarks>
/// Device-to-unit resolution follows the DMAR rules: an endpoint scope names one device; a bridge
/// scope covers the buses under the bridge (secondary..subordinate, from the topology); an
/// INCLUDE_PCI_ALL unit takes what is left of its segment. A multi-hop scope path is resolved through
/// the topology's bridges; without a topology only one-hop paths resolve. Without lspci text the
/// devices are the endpoint scopes the tables name (DRHD, RMRR, SATC; for IVRS the select entries).
/// A unit without a boot-log line gets <see cref="PlatformUnit.DefaultProfileName"/>.
/// </remarks>
public sealed class PlatformDescription
{
    private PlatformDescription() { }

    /// <summary>The parsed DMAR, or null.</summary>
    public DmarTable? Dmar { get; private init; }

    /// <summary>The parsed IVRS, or null.</summary>
    public IvrsTable? Ivrs { get; private init; }

    /// <summary>The PCI topology from lspci, or null.</summary>
    public PciTopology? Topology { get; private init; }

    /// <summary>The boot log's DMAR lines, or null.</summary>
    public DmarBootLog? BootLog { get; private init; }

    /// <summary>Host address width in bits (boot log, else DMAR, else IVRS physical address size; 0 when none).</summary>
    public int HostAddressWidth { get; private init; }

    /// <summary>The VT-d remapping units, in table order.</summary>
    public ImmutableArray<PlatformUnit> Units { get; private init; }

    /// <summary>The devices, sorted by address.</summary>
    public ImmutableArray<PlatformDevice> Devices { get; private init; }

    /// <summary>The iommu groups.</summary>
    public ImmutableArray<GroupDescription> Groups { get; private init; }

    /// <summary>Builds a platform from whatever is known about it.</summary>
    /// <param name="dmarBytes">DMAR table bytes, or null.</param>
    /// <param name="ivrsBytes">IVRS table bytes, or null.</param>
    /// <param name="lspciText"><c>lspci -vvnn</c> output, or null.</param>
    /// <param name="dmesgText">Boot log text, or null.</param>
    /// <returns>The platform.</returns>
    /// <exception cref="IommuException">EINVAL when no table is given or an input is damaged.</exception>
    public static PlatformDescription Load(byte[]? dmarBytes, byte[]? ivrsBytes, string? lspciText = null, string? dmesgText = null)
    {
        if (dmarBytes is null && ivrsBytes is null)
            Throw.Iommu(Errno.EINVAL, "a platform needs a DMAR or an IVRS table");
        DmarTable? dmar = dmarBytes is null ? null : DmarTable.Parse(dmarBytes);
        IvrsTable? ivrs = ivrsBytes is null ? null : IvrsTable.Parse(ivrsBytes);
        PciTopology? topology = lspciText is null ? null : PciTopology.ParseLspci(lspciText);
        DmarBootLog? log = dmesgText is null ? null : DmarBootLog.Parse(dmesgText);
        int haw = log?.HostAddressWidth ?? dmar?.HostAddressWidth ?? ivrs?.PhysicalAddressSize ?? 0;

        var units = ImmutableArray.CreateBuilder<PlatformUnit>();
        foreach (DrhdUnit drhd in dmar?.Units ?? [])
        {
            DmarUnitRegisters? regs = log?.Units.FirstOrDefault(u => u.RegisterBase == drhd.RegisterBase);
            uint? node = dmar!.Affinities.FirstOrDefault(a => a.RegisterBase == drhd.RegisterBase)?.ProximityDomain;
            units.Add(regs is null
                ? new PlatformUnit(drhd.RegisterBase, drhd.Segment, drhd.IncludePciAll, drhd.Scopes,
                    UnitPresets.LegacyCapability.Encode(), UnitPresets.LegacyExtendedCapability.Encode(), PlatformUnit.DefaultProfileName, haw, node)
                : new PlatformUnit(drhd.RegisterBase, drhd.Segment, drhd.IncludePciAll, drhd.Scopes,
                    regs.Capability, regs.ExtendedCapability, $"dmesg {regs.Name} (ver {regs.MajorVersion}:{regs.MinorVersion})", haw, node));
        }

        IEnumerable<PciAddress> addresses = topology is not null
            ? topology.Functions.Select(f => f.Address)
            : TableDevices(dmar, ivrs);
        ImmutableArray<GroupDescription> groups = IommuGrouping.Compute(addresses, topology);
        var groupOf = groups.SelectMany(g => g.Devices.Select(d => (d, g.Id))).ToDictionary(x => x.d, x => x.Id);

        var devices = ImmutableArray.CreateBuilder<PlatformDevice>();
        foreach (GroupDescription group in groups)
            foreach (PciAddress address in group.Devices)
                devices.Add(new PlatformDevice(address, topology?.Find(address),
                    UnitFor(dmar, ivrs, topology, address), groupOf[address],
                    ReservedRegionsFor(dmar, topology, address), AtsAllowedFor(dmar, topology, address), InSatc(dmar, topology, address),
                    AtcRequiredFor(dmar, topology, address)));
        devices.Sort((a, b) => a.Address.CompareTo(b.Address));

        return new PlatformDescription
        {
            Dmar = dmar,
            Ivrs = ivrs,
            Topology = topology,
            BootLog = log,
            HostAddressWidth = haw,
            Units = units.ToImmutable(),
            Devices = devices.ToImmutable(),
            Groups = groups,
        };
    }

    /// <summary>The device at an address, or null.</summary>
    /// <param name="address">The address.</param>
    /// <returns>The device or null.</returns>
    public PlatformDevice? FindDevice(PciAddress address) => Devices.FirstOrDefault(d => d.Address == address);

    /// <summary>The register base of the unit that translates for an address (which need not be a listed device).</summary>
    /// <param name="address">The requester's address.</param>
    /// <returns>The unit's (or AMD IOMMU's) register base, or null when none covers it.</returns>
    public ulong? UnitFor(PciAddress address) => UnitFor(Dmar, Ivrs, Topology, address);

    /// <summary>Resolves a scope path to the address it names, crossing bridges through the topology.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="segment">The segment of the structure holding the scope.</param>
    /// <param name="topology">The topology, or null (then only one-hop paths resolve).</param>
    /// <returns>The address, or null when a bridge on the path is unknown.</returns>
    public static PciAddress? ResolveScope(DeviceScope scope, ushort segment, PciTopology? topology)
    {
        ArgumentNullException.ThrowIfNull(scope);
        if (scope.Path.IsEmpty)
            return null;
        int bus = scope.StartBus;
        for (int i = 0; ; i++)
        {
            var address = new PciAddress(segment, bus, scope.Path[i].Device, scope.Path[i].Function);
            if (i == scope.Path.Length - 1)
                return address;
            PciFunction? bridge = topology?.Find(address);
            if (bridge is null || !bridge.IsBridge)
                return null;
            bus = bridge.SecondaryBus;
        }
    }

    /// <summary>Whether a PCI scope covers a device: an endpoint scope by naming it, a bridge scope also
    /// by the device sitting on a bus under the bridge.</summary>
    /// <param name="scope">The scope.</param>
    /// <param name="segment">The segment of the structure holding the scope.</param>
    /// <param name="topology">The topology, or null.</param>
    /// <param name="device">The device.</param>
    /// <returns>Whether the scope covers the device.</returns>
    public static bool ScopeCovers(DeviceScope scope, ushort segment, PciTopology? topology, PciAddress device)
    {
        ArgumentNullException.ThrowIfNull(scope);
        if (segment != device.Segment || scope.Type is not (DeviceScopeType.PciEndpoint or DeviceScopeType.PciBridge))
            return false;
        PciAddress? target = ResolveScope(scope, segment, topology);
        if (target is null)
            return false;
        if (target == device)
            return true;
        return scope.Type == DeviceScopeType.PciBridge
            && topology?.Find(target.Value) is { IsBridge: true } bridge
            && device.Bus >= bridge.SecondaryBus && device.Bus <= bridge.SubordinateBus;
    }

    /// <summary>Renders units, scopes, registers, devices and groups as text.</summary>
    /// <returns>The text.</returns>
    public string Describe()
    {
        var text = new StringBuilder();
        text.Append("host address width: ").Append(HostAddressWidth).AppendLine();
        foreach (PlatformUnit u in Units)
        {
            text.Append("unit ").Append(Throw.Hex(u.RegisterBase)).Append(" segment ").Append(u.Segment)
                .Append(u.IncludePciAll ? " INCLUDE_PCI_ALL" : "").AppendLine();
            text.Append("  cap ").Append(u.Capability.ToString("x", System.Globalization.CultureInfo.InvariantCulture))
                .Append(" ecap ").Append(u.ExtendedCapability.ToString("x", System.Globalization.CultureInfo.InvariantCulture))
                .Append(" profile ").Append(u.ProfileName).AppendLine();
            foreach (DeviceScope s in u.Scopes)
                text.Append("  scope ").Append(s.Type).Append(' ').Append(s).AppendLine();
        }
        foreach (IvhdBlock h in Ivrs?.HardwareDefinitions ?? [])
            text.Append("ivhd ").Append(h.Type.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)).Append("h iommu ")
                .Append(Throw.Hex(h.IommuBase)).Append(" device ").Append(IvhdDeviceEntry.FormatDeviceId(h.DeviceId))
                .Append(" entries ").Append(h.Entries.Length).AppendLine();
        foreach (PlatformDevice d in Devices)
        {
            text.Append("device ").Append(d.Address).Append(" unit ")
                .Append(d.UnitRegisterBase is ulong b ? Throw.Hex(b) : "none").Append(" group ").Append(d.GroupId);
            if (d.AtsAllowed)
                text.Append(" ats");
            if (d.Satc)
                text.Append(" satc");
            foreach (ReservedRegion r in d.ReservedRegions)
                text.Append(" rmrr ").Append(r);
            text.AppendLine();
        }
        foreach (GroupDescription g in Groups)
            foreach (string path in g.SysfsPaths)
                text.AppendLine(path);
        return text.ToString();
    }

    private static IEnumerable<PciAddress> TableDevices(DmarTable? dmar, IvrsTable? ivrs)
    {
        if (dmar is not null)
        {
            var scoped = dmar.Units.SelectMany(u => u.Scopes.Select(s => (u.Segment, s)))
                .Concat(dmar.ReservedMemory.SelectMany(r => r.Scopes.Select(s => (r.Segment, s))))
                .Concat(dmar.SocAtcReports.SelectMany(r => r.Scopes.Select(s => (r.Segment, s))));
            foreach ((ushort segment, DeviceScope scope) in scoped)
                if (scope.Type == DeviceScopeType.PciEndpoint && scope.DirectAddress(segment) is PciAddress a)
                    yield return a;
        }
        foreach (IvhdBlock block in ivrs?.HardwareDefinitions ?? [])
            foreach (IvhdDeviceEntry e in block.Entries)
                if (e.Kind is IvhdEntryKind.Select or IvhdEntryKind.AliasSelect or IvhdEntryKind.ExtendedSelect)
                    yield return new PciAddress(block.Segment, e.DeviceId);
    }

    private static ulong? UnitFor(DmarTable? dmar, IvrsTable? ivrs, PciTopology? topology, PciAddress address)
    {
        if (dmar is not null)
        {
            foreach (DrhdUnit u in dmar.Units)
                if (!u.IncludePciAll && u.Scopes.Any(s => ScopeCovers(s, u.Segment, topology, address)))
                    return u.RegisterBase;
            foreach (DrhdUnit u in dmar.Units)
                if (u.IncludePciAll && u.Segment == address.Segment)
                    return u.RegisterBase;
        }
        if (ivrs is not null)
            foreach (IvhdBlock block in PreferredIvhd(ivrs))
                if (block.Segment == address.Segment && IvhdCovers(block, address.RequesterId))
                    return block.IommuBase;
        return null;
    }

    /// <summary>Linux uses one IVHD type per IOMMU: the highest one the table gives (40h over 11h over 10h).</summary>
    private static IEnumerable<IvhdBlock> PreferredIvhd(IvrsTable ivrs)
    {
        if (ivrs.HardwareDefinitions.IsEmpty)
            return [];
        byte highest = ivrs.HardwareDefinitions.Max(b => b.Type);
        return ivrs.HardwareDefinitions.Where(b => b.Type == highest);
    }

    private static bool IvhdCovers(IvhdBlock block, ushort id)
    {
        int? rangeStart = null;
        foreach (IvhdDeviceEntry e in block.Entries)
        {
            switch (e.Kind)
            {
                case IvhdEntryKind.Select or IvhdEntryKind.AliasSelect or IvhdEntryKind.ExtendedSelect:
                    if (e.DeviceId == id)
                        return true;
                    break;
                case IvhdEntryKind.StartRange or IvhdEntryKind.AliasStartRange or IvhdEntryKind.ExtendedStartRange:
                    rangeStart = e.DeviceId;
                    break;
                case IvhdEntryKind.EndRange:
                    if (rangeStart is int start && id >= start && id <= e.DeviceId)
                        return true;
                    rangeStart = null;
                    break;
            }
        }
        return false;
    }

    private static ImmutableArray<ReservedRegion> ReservedRegionsFor(DmarTable? dmar, PciTopology? topology, PciAddress address) =>
        dmar is null ? [] : dmar.ReservedMemory
            .Where(r => r.Scopes.Any(s => ScopeCovers(s, r.Segment, topology, address)))
            .Select(r => new ReservedRegion(r.Base, r.Limit))
            .ToImmutableArray();

    private static bool InSatc(DmarTable? dmar, PciTopology? topology, PciAddress address) =>
        dmar is not null && dmar.SocAtcReports.Any(r => r.Scopes.Any(s => ScopeCovers(s, r.Segment, topology, address)));

    /// <summary>A SATC structure with ATC_REQUIRED lists the device.</summary>
    private static bool AtcRequiredFor(DmarTable? dmar, PciTopology? topology, PciAddress address) =>
        dmar is not null && dmar.SocAtcReports.Any(r => r.AtcRequired && r.Scopes.Any(s => ScopeCovers(s, r.Segment, topology, address)));

    /// <summary>ATS is allowed for a SATC device, and for a device whose root port an ATSR names (or
    /// whose segment has an ALL_PORTS ATSR) when only PCIe ports lie between them.</summary>
    private static bool AtsAllowedFor(DmarTable? dmar, PciTopology? topology, PciAddress address)
    {
        if (dmar is null)
            return false;
        if (InSatc(dmar, topology, address))
            return true;
        if (topology is null)
            return false;
        PciFunction? rootPort = null;
        foreach (PciFunction bridge in topology.UpstreamBridges(address))
        {
            if (bridge.ExpressType is PciExpressType.None or PciExpressType.PcieToPciBridge)
                return false;
            if (bridge.ExpressType == PciExpressType.RootPort)
            {
                rootPort = bridge;
                break;
            }
        }
        if (rootPort is null)
            return false;
        return dmar.AtsReports.Any(r => r.Segment == address.Segment
            && (r.AllPorts || r.Scopes.Any(s => s.Type == DeviceScopeType.PciBridge && ResolveScope(s, r.Segment, topology) == rootPort.Address)));
    }
}
