using System.Collections.Immutable;
using Siov.Fast.Hardware.Vtd;

namespace Siov.Fast.Platforms;

/// <summary>A remapping unit of a platform: where the DMAR puts it and which register images it has.</summary>
/// <param name="RegisterBase">Register base address (the unit's identity).</param>
/// <param name="Segment">PCI segment.</param>
/// <param name="IncludePciAll">The unit takes every device of its segment that no other unit names.</param>
/// <param name="Scopes">Its DRHD device scopes.</param>
/// <param name="Capability">CAP_REG image.</param>
/// <param name="ExtendedCapability">ECAP_REG image.</param>
/// <param name="ProfileName">Where the images come from: <c>dmesg dmar0 (ver 6:0)</c>, or the default profile's name.</param>
/// <param name="HostAddressWidth">Host address width in bits (the boot log's when given, else the table's).</param>
/// <param name="ProximityDomain">NUMA proximity domain from RHSA, or null.</param>
public sealed record PlatformUnit(
    ulong RegisterBase, ushort Segment, bool IncludePciAll, ImmutableArray<DeviceScope> Scopes,
    ulong Capability, ulong ExtendedCapability, string ProfileName, int HostAddressWidth, uint? ProximityDomain)
{
    /// <summary>The name of the profile a unit gets when the boot log has no line for it.</summary>
    public const string DefaultProfileName = "default: legacy (UnitPresets.LegacyCapability, cap c9008020660262 ecap f010da)";

    /// <summary>CAP_REG decoded.</summary>
    public CapabilityRegister DecodedCapability => CapabilityRegister.Decode(Capability);

    /// <summary>ECAP_REG decoded.</summary>
    public ExtendedCapabilityRegister DecodedExtendedCapability => ExtendedCapabilityRegister.Decode(ExtendedCapability);
}
