namespace Siov.Fast.Platforms;

/// <summary>One PCI function as <c>lspci -vvnn</c> shows it.</summary>
/// <param name="Address">The function's address.</param>
/// <param name="ClassCode">Class and subclass, e.g. 0x0604 for a PCI bridge.</param>
/// <param name="VendorId">Vendor id; null when lspci truncated the line before it.</param>
/// <param name="DeviceId">Device id; null when lspci truncated the line before it.</param>
/// <param name="Description">The text after the class, as lspci printed it.</param>
/// <param name="IsBridge">Type 1 header (lspci prints a "Bus: primary=" line).</param>
/// <param name="PrimaryBus">Bridge primary bus (0 for a non-bridge).</param>
/// <param name="SecondaryBus">Bridge secondary bus (0 for a non-bridge).</param>
/// <param name="SubordinateBus">Bridge subordinate bus, the last bus under it (0 for a non-bridge).</param>
/// <param name="IsMultifunction">Another function of the same device is present.</param>
/// <param name="ExpressType">PCI Express device/port type.</param>
/// <param name="HasAcs">An ACS extended capability is present.</param>
/// <param name="AcsCapability">ACSCap bits (what the function can do).</param>
/// <param name="AcsControl">ACSCtl bits (what was enabled when lspci ran).</param>
/// <param name="Ats">Address Translation Service capability present.</param>
/// <param name="Pasid">Process Address Space ID capability present.</param>
/// <param name="MaxPasidWidth">Max PASID width in bits (0 without PASID).</param>
/// <param name="Pri">Page Request Interface capability present.</param>
public sealed record PciFunction(
    PciAddress Address, int ClassCode, int? VendorId, int? DeviceId, string Description,
    bool IsBridge, int PrimaryBus, int SecondaryBus, int SubordinateBus, bool IsMultifunction,
    PciExpressType ExpressType, bool HasAcs, AcsCapabilities AcsCapability, AcsCapabilities AcsControl,
    bool Ats, bool Pasid, int MaxPasidWidth, bool Pri)
{
    /// <summary>Whether the function has a PCI Express capability.</summary>
    public bool IsPciExpress => ExpressType != PciExpressType.None;
}
