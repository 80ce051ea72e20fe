using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Siov.Fast.Platforms;

namespace Siov.Fast.Cli;

/// <summary>
/// The JSON form of a <see cref="PlatformDescription"/>: snake_case names, addresses as "0x..." hex
/// strings, PCI addresses in sysfs form, scope paths as "DD.F" steps, units named as the admin server names them
/// (<c>dmar0</c>, ...; <see cref="UnitNames"/>). The schema is in docs/platforms.md.
/// </summary>
public static class PlatformJson
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Builds the JSON document.</summary>
    /// <param name="platform">The platform.</param>
    /// <returns>The document.</returns>
    public static JsonObject Build(PlatformDescription platform)
    {
        ArgumentNullException.ThrowIfNull(platform);
        DmarTable? dmar = platform.Dmar;
        IvrsTable? ivrs = platform.Ivrs;
        return new JsonObject
        {
            ["host_address_width"] = platform.HostAddressWidth,
            ["units"] = Array(platform.Units, u => new JsonObject
            {
                ["name"] = UnitNames.Of(platform, u.RegisterBase),
                ["register_base"] = Hex(u.RegisterBase),
                ["segment"] = u.Segment,
                ["include_pci_all"] = u.IncludePciAll,
                ["scopes"] = Scopes(u.Scopes),
                ["cap"] = Hex(u.Capability),
                ["ecap"] = Hex(u.ExtendedCapability),
                ["profile"] = u.ProfileName,
                ["host_address_width"] = u.HostAddressWidth,
                ["proximity_domain"] = u.ProximityDomain,
            }),
            ["reserved_memory"] = Array(dmar?.ReservedMemory ?? [], r => new JsonObject
            {
                ["segment"] = r.Segment,
                ["base"] = Hex(r.Base),
                ["limit"] = Hex(r.Limit),
                ["scopes"] = Scopes(r.Scopes),
            }),
            ["ats"] = Array(dmar?.AtsReports ?? [], a => new JsonObject
            {
                ["segment"] = a.Segment,
                ["all_ports"] = a.AllPorts,
                ["scopes"] = Scopes(a.Scopes),
            }),
            ["satc"] = Array(dmar?.SocAtcReports ?? [], s => new JsonObject
            {
                ["segment"] = s.Segment,
                ["atc_required"] = s.AtcRequired,
                ["scopes"] = Scopes(s.Scopes),
            }),
            ["andd"] = Array(dmar?.NamespaceDevices ?? [], a => new JsonObject
            {
                ["device_number"] = a.DeviceNumber,
                ["object_name"] = a.ObjectName,
            }),
            ["rhsa"] = Array(dmar?.Affinities ?? [], a => new JsonObject
            {
                ["register_base"] = Hex(a.RegisterBase),
                ["proximity_domain"] = a.ProximityDomain,
            }),
            ["skipped"] = Array((dmar?.Skipped ?? []).AddRange(ivrs?.Skipped ?? []), s => new JsonObject
            {
                ["type"] = s.Type,
                ["offset"] = s.Offset,
                ["length"] = s.Length,
            }),
            ["ivhd"] = Array(ivrs?.HardwareDefinitions ?? [], h => new JsonObject
            {
                ["type"] = Hex(h.Type),
                ["flags"] = Hex(h.Flags),
                ["device_id"] = IvhdDeviceEntry.FormatDeviceId(h.DeviceId),
                ["capability_offset"] = Hex(h.CapabilityOffset),
                ["iommu_base"] = Hex(h.IommuBase),
                ["segment"] = h.Segment,
                ["info"] = Hex(h.Info),
                ["feature_reporting"] = Hex(h.FeatureReporting),
                ["efr"] = h.EfrImage is ulong efr ? Hex(efr) : null,
                ["entries"] = Array(h.Entries, Entry),
            }),
            ["ivmd"] = Array(ivrs?.MemoryDefinitions ?? [], m => new JsonObject
            {
                ["type"] = Hex(m.Type),
                ["flags"] = Hex(m.Flags),
                ["device_id"] = IvhdDeviceEntry.FormatDeviceId(m.DeviceId),
                ["aux_data"] = Hex(m.AuxiliaryData),
                ["start"] = Hex(m.StartAddress),
                ["length"] = Hex(m.MemoryLength),
                ["exclusion_range"] = m.ExclusionRange,
                ["unity"] = m.Unity,
            }),
            ["devices"] = Array(platform.Devices, d => new JsonObject
            {
                ["address"] = d.Address.ToString(),
                ["unit"] = d.UnitRegisterBase is ulong b ? UnitNames.Of(platform, b) : null,
                ["unit_register_base"] = d.UnitRegisterBase is ulong rb ? Hex(rb) : null,
                ["group"] = d.GroupId,
                ["express_type"] = d.Function?.ExpressType.ToString(),
                ["acs_cap"] = d.Function is { HasAcs: true } f ? f.AcsCapability.ToString() : null,
                ["ats_capable"] = d.Function?.Ats,
                ["pasid_width"] = d.Function?.MaxPasidWidth,
                ["pri"] = d.Function?.Pri,
                ["ats_allowed"] = d.AtsAllowed,
                ["satc"] = d.Satc,
                ["atc_required"] = d.AtcRequired,
                ["reserved_regions"] = Array(d.ReservedRegions, r => new JsonObject { ["base"] = Hex(r.Base), ["limit"] = Hex(r.Limit) }),
            }),
            ["groups"] = Array(platform.Groups, g => new JsonObject
            {
                ["id"] = g.Id,
                ["devices"] = new JsonArray(g.Devices.Select(d => (JsonNode?)JsonValue.Create(d.ToString())).ToArray()),
            }),
        };
    }

    /// <summary>Builds the document and writes it indented.</summary>
    /// <param name="platform">The platform.</param>
    /// <returns>The JSON text.</returns>
    public static string Serialize(PlatformDescription platform) => Build(platform).ToJsonString(Indented);

    private static JsonObject Entry(IvhdDeviceEntry e)
    {
        var o = new JsonObject
        {
            ["offset"] = e.Offset,
            ["type"] = Hex(e.Type),
            ["kind"] = e.Kind.ToString(),
            ["device_id"] = IvhdDeviceEntry.FormatDeviceId(e.DeviceId),
            ["setting"] = Hex(e.Setting),
        };
        switch (e.Kind)
        {
            case IvhdEntryKind.AliasSelect or IvhdEntryKind.AliasStartRange:
                o["source_device_id"] = IvhdDeviceEntry.FormatDeviceId(e.SourceDeviceId);
                break;
            case IvhdEntryKind.ExtendedSelect or IvhdEntryKind.ExtendedStartRange:
                o["extended_data"] = Hex(e.ExtendedData);
                break;
            case IvhdEntryKind.Special:
                o["variety"] = e.Variety switch { 1 => "ioapic", 2 => "hpet", _ => e.Variety.ToString(CultureInfo.InvariantCulture) };
                o["handle"] = e.Handle;
                o["source_device_id"] = IvhdDeviceEntry.FormatDeviceId(e.SourceDeviceId);
                break;
            case IvhdEntryKind.AcpiHid:
                o["hid"] = e.Hid;
                o["cid"] = e.Cid;
                o["uid"] = e.Uid;
                break;
        }
        return o;
    }

    private static JsonArray Scopes(IEnumerable<DeviceScope> scopes) => Array(scopes, s => new JsonObject
    {
        ["type"] = ScopeTypeName(s.Type),
        ["enumeration_id"] = s.EnumerationId,
        ["bus"] = s.StartBus.ToString("x2", CultureInfo.InvariantCulture),
        ["path"] = new JsonArray(s.Path.Select(p => (JsonNode?)JsonValue.Create(p.ToString())).ToArray()),
    });

    private static string ScopeTypeName(DeviceScopeType type) => type switch
    {
        DeviceScopeType.PciEndpoint => "endpoint",
        DeviceScopeType.PciBridge => "bridge",
        DeviceScopeType.IoApic => "ioapic",
        DeviceScopeType.Hpet => "hpet",
        DeviceScopeType.AcpiNamespaceDevice => "namespace",
        _ => ((int)type).ToString(CultureInfo.InvariantCulture),
    };

    private static JsonArray Array<T>(IEnumerable<T> items, Func<T, JsonNode> map) =>
        new(items.Select(i => (JsonNode?)map(i)).ToArray());

    private static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}
