using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

/// <summary>
/// An I/O Virtualization Hardware Definition block, IVHD (AMD IOMMU spec 5.2.2): one IOMMU and the
/// devices it translates for.
/// </summary>
/// <remarks>Layout: Type 0 (10h, 11h or 40h), Flags 1, Length 2, IOMMU DeviceID 4, Capability Offset 6,
/// IOMMU Base Address 8, PCI Segment Group 16, IOMMU Info 18, then for 10h IOMMU Feature Reporting
/// 20-23 and entries from 24; for 11h/40h IOMMU Attributes 20-23, EFR Register Image 24-31,
/// EFR2 image 32-39 and entries from 40.</remarks>
/// <param name="Offset">Byte offset of the block in the table.</param>
/// <param name="Type">10h, 11h or 40h.</param>
/// <param name="Flags">The flags byte (HtTunEn, PassPW, ResPassPW, Isoc, IotlbSup, Coherent, PrefSup, PPRSup).</param>
/// <param name="DeviceId">The IOMMU's own PCI device id.</param>
/// <param name="CapabilityOffset">Offset of the IOMMU capability block in its configuration space.</param>
/// <param name="IommuBase">Physical base address of the IOMMU's registers.</param>
/// <param name="Segment">PCI segment group.</param>
/// <param name="Info">IOMMU info (MSI number, unit id).</param>
/// <param name="FeatureReporting">Type 10h: IOMMU feature reporting; types 11h/40h: IOMMU attributes.</param>
/// <param name="EfrImage">Extended Feature Register image (11h/40h); null for 10h.</param>
/// <param name="Entries">The device entries.</param>
public sealed record IvhdBlock(
    int Offset, byte Type, byte Flags, ushort DeviceId, ushort CapabilityOffset, ulong IommuBase, ushort Segment,
    ushort Info, uint FeatureReporting, ulong? EfrImage, ImmutableArray<IvhdDeviceEntry> Entries);
