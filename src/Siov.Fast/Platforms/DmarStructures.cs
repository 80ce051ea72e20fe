using System.Collections.Immutable;
using System.Globalization;

namespace Siov.Fast.Platforms;

/// <summary>Device scope entry types (VT-d spec 8.3.1, Table "Device Scope Entry Types").</summary>
public enum DeviceScopeType
{
    /// <summary>A PCI endpoint device: the scope names that one function.</summary>
    PciEndpoint = 1,

    /// <summary>A PCI-PCI bridge: the scope covers every bus under it.</summary>
    PciBridge = 2,

    /// <summary>An I/O APIC, with its APIC id as enumeration id.</summary>
    IoApic = 3,

    /// <summary>A message-capable HPET, with its HPET number as enumeration id.</summary>
    Hpet = 4,

    /// <summary>An ACPI namespace device, with its ANDD device number as enumeration id.</summary>
    AcpiNamespaceDevice = 5,
}

/// <summary>One hop of a device scope path: device and function on the bus reached so far.</summary>
/// <param name="Device">PCI device number, 0-31.</param>
/// <param name="Function">PCI function number, 0-7.</param>
public readonly record struct PciPathStep(byte Device, byte Function)
{
    /// <summary>The "DD.F" form, e.g. <c>1c.7</c>.</summary>
    /// <returns>The step text.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Device:x2}.{Function:x}");
}

/// <summary>
/// A device scope entry (VT-d spec 8.3.1): names a device by a start bus and a path of
/// (device, function) hops through bridges.
/// </summary>
/// <remarks>Layout: Type 0, Length 1 (6 + 2 * path hops), Flags 2, Reserved 3, Enumeration ID 4,
/// Start Bus 5, Path 6.. as (device, function) byte pairs.</remarks>
/// <param name="Type">The scope type; other values than the named ones are kept as they are.</param>
/// <param name="EnumerationId">APIC id, HPET number or ANDD device number; 0 for PCI scopes.</param>
/// <param name="StartBus">The bus the path starts on.</param>
/// <param name="Path">The hops; the last one is the device itself.</param>
public sealed record DeviceScope(DeviceScopeType Type, byte EnumerationId, byte StartBus, ImmutableArray<PciPathStep> Path)
{
    /// <summary>The address the path names when it has one hop (no bridges to cross); null otherwise.</summary>
    /// <param name="segment">The segment of the enclosing structure.</param>
    /// <returns>The address, or null for a multi-hop path (resolve those with a topology).</returns>
    public PciAddress? DirectAddress(ushort segment) =>
        Path.Length == 1 ? new PciAddress(segment, StartBus, Path[0].Device, Path[0].Function) : null;

    /// <summary>The path as "DD.F" steps joined by '/', with the start bus: <c>00:1c.7/00.0</c>.</summary>
    /// <returns>The scope text.</returns>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{StartBus:x2}:") + string.Join("/", Path);
}

/// <summary>DMA Remapping Hardware Unit Definition, DRHD (VT-d spec 8.3).</summary>
/// <remarks>Layout: Type 0 (=0), Length 2, Flags 4 (bit 0 INCLUDE_PCI_ALL), Size 5 (bits 3:0: the
/// register set spans 2^N 4 KiB pages), Segment 6, Register Base Address 8, Device Scopes 16..</remarks>
/// <param name="Offset">Byte offset of the structure in the table.</param>
/// <param name="Flags">The flags byte.</param>
/// <param name="SizeField">The size byte (bits 3:0 = N, 2^N pages of registers).</param>
/// <param name="Segment">PCI segment the unit serves.</param>
/// <param name="RegisterBase">Physical base address of the unit's registers.</param>
/// <param name="Scopes">The device scopes.</param>
public sealed record DrhdUnit(int Offset, byte Flags, byte SizeField, ushort Segment, ulong RegisterBase, ImmutableArray<DeviceScope> Scopes)
{
    /// <summary>INCLUDE_PCI_ALL (flags bit 0): the unit takes every device of its segment that no other unit names.</summary>
    public bool IncludePciAll => (Flags & 1) != 0;

    /// <summary>Size of the register set in bytes: 4 KiB * 2^N.</summary>
    public ulong RegisterSetSize => 4096UL << (SizeField & 0xF);
}

/// <summary>Reserved Memory Region Reporting, RMRR (VT-d spec 8.4): memory that the listed devices
/// may DMA to at any time, so it must stay identity-mapped for them.</summary>
/// <remarks>Layout: Type 0 (=1), Length 2, Reserved 4, Segment 6, Base 8, Limit 16 (inclusive), Device Scopes 24..</remarks>
/// <param name="Offset">Byte offset of the structure in the table.</param>
/// <param name="Segment">PCI segment of the devices.</param>
/// <param name="Base">First byte of the region (4 KiB aligned).</param>
/// <param name="Limit">Last byte of the region (inclusive).</param>
/// <param name="Scopes">The devices that use the region.</param>
public sealed record RmrrRegion(int Offset, ushort Segment, ulong Base, ulong Limit, ImmutableArray<DeviceScope> Scopes);

/// <summary>Root Port ATS Capability Reporting, ATSR (VT-d spec 8.5).</summary>
/// <remarks>Layout: Type 0 (=2), Length 2, Flags 4 (bit 0 ALL_PORTS), Reserved 5, Segment 6, Device Scopes 8..</remarks>
/// <param name="Offset">Byte offset of the structure in the table.</param>
/// <param name="Flags">The flags byte.</param>
/// <param name="Segment">PCI segment.</param>
/// <param name="Scopes">The root ports (bridge scopes) that support ATS.</param>
public sealed record AtsrReport(int Offset, byte Flags, ushort Segment, ImmutableArray<DeviceScope> Scopes)
{
    /// <summary>ALL_PORTS (flags bit 0): every root port of the segment supports ATS.</summary>
    public bool AllPorts => (Flags & 1) != 0;
}

/// <summary>Remapping Hardware Static Affinity, RHSA (VT-d spec 8.6): the NUMA node of a unit.</summary>
/// <remarks>Layout: Type 0 (=3), Length 2 (=20), Reserved 4, Register Base Address 8, Proximity Domain 16.</remarks>
/// <param name="Offset">Byte offset of the structure in the table.</param>
/// <param name="RegisterBase">Register base of the unit (matches a DRHD).</param>
/// <param name="ProximityDomain">ACPI proximity domain.</param>
public sealed record RhsaAffinity(int Offset, ulong RegisterBase, uint ProximityDomain);

/// <summary>ACPI Name-space Device Declaration, ANDD (VT-d spec 8.7): names the ACPI device behind a
/// namespace-device scope.</summary>
/// <remarks>Layout: Type 0 (=4), Length 2, Reserved 4-6, ACPI Device Number 7, Object Name 8.. (NUL-terminated ASCII).</remarks>
/// <param name="Offset">Byte offset of the structure in the table.</param>
/// <param name="DeviceNumber">The number that namespace scopes give as enumeration id.</param>
/// <param name="ObjectName">The ACPI object path, e.g. <c>\_SB.PCI0.I2C0</c>.</param>
public sealed record AnddDevice(int Offset, byte DeviceNumber, string ObjectName);

/// <summary>SoC Integrated Address Translation Cache reporting, SATC (VT-d spec 8.8): integrated
/// devices with an address translation cache.</summary>
/// <remarks>Layout: Type 0 (=5), Length 2, Flags 4 (bit 0 ATC_REQUIRED), Reserved 5, Segment 6, Device Scopes 8..</remarks>
/// <param name="Offset">Byte offset of the structure in the table.</param>
/// <param name="Flags">The flags byte.</param>
/// <param name="Segment">PCI segment.</param>
/// <param name="Scopes">The devices.</param>
public sealed record SatcReport(int Offset, byte Flags, ushort Segment, ImmutableArray<DeviceScope> Scopes)
{
    /// <summary>ATC_REQUIRED (flags bit 0): the devices need their ATC enabled for functional reasons.</summary>
    public bool AtcRequired => (Flags & 1) != 0;
}
