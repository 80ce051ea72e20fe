using System.Collections.Immutable;
using System.Globalization;

namespace Siov.Fast.Platforms;

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
