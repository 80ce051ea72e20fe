using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

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
