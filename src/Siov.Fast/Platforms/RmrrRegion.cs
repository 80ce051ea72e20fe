using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

/// <summary>Reserved Memory Region Reporting, RMRR (VT-d spec 8.4): memory that the listed devices
/// may DMA to at any time, so it must stay identity-mapped for them.</summary>
/// <remarks>Layout: Type 0 (=1), Length 2, Reserved 4, Segment 6, Base 8, Limit 16 (inclusive), Device Scopes 24..</remarks>
/// <param name="Offset">Byte offset of the structure in the table.</param>
/// <param name="Segment">PCI segment of the devices.</param>
/// <param name="Base">First byte of the region (4 KiB aligned).</param>
/// <param name="Limit">Last byte of the region (inclusive).</param>
/// <param name="Scopes">The devices that use the region.</param>
public sealed record RmrrRegion(int Offset, ushort Segment, ulong Base, ulong Limit, ImmutableArray<DeviceScope> Scopes);
