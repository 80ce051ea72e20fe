using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

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
