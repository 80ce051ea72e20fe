using System.Collections.Immutable;
using System.Globalization;

namespace Siov.Fast.Platforms;

/// <summary>What an IVHD device entry does (AMD IOMMU spec 5.2.2.2, Table "IVHD Device Entry Type Codes").</summary>
public enum IvhdEntryKind
{
    /// <summary>A type the parser does not decode (reserved types); skipped by its encoded size.</summary>
    Unknown,

    /// <summary>Type 0: padding.</summary>
    Pad,

    /// <summary>Type 2: one device.</summary>
    Select,

    /// <summary>Type 3: start of a device id range (ends at the next End Range).</summary>
    StartRange,

    /// <summary>Type 4: end of a device id range.</summary>
    EndRange,

    /// <summary>Type 42h: one device whose requests carry the source (alias) device id.</summary>
    AliasSelect,

    /// <summary>Type 43h: start of a range whose requests carry the source (alias) device id.</summary>
    AliasStartRange,

    /// <summary>Type 46h: one device with extended data (ATS disabled bit).</summary>
    ExtendedSelect,

    /// <summary>Type 47h: start of a range with extended data.</summary>
    ExtendedStartRange,

    /// <summary>Type 48h: a special device (IOAPIC or HPET) with its handle and device id.</summary>
    Special,

    /// <summary>Type F0h: an ACPI device named by HID, CID and UID (variable length).</summary>
    AcpiHid,
}

/// <summary>
/// One IVHD device entry (AMD IOMMU spec 5.2.2.2). 4-byte entries (types 00h-3Fh): Type 0,
/// DeviceID 1-2, DTE Setting 3. 8-byte entries (40h-7Fh) add: for 42h/43h Reserved 4, Source
/// DeviceID 5-6; for 46h/47h Extended Data 4-7; for 48h Handle 4, Source DeviceID 5-6 (the IOAPIC or
/// HPET's own id), Variety 7 (1 IOAPIC, 2 HPET). F0h: HID 4-11, CID 12-19, UID Format 20, UID Length 21, UID 22..
/// </summary>
/// <param name="Offset">Byte offset of the entry in the table.</param>
/// <param name="Type">The entry type byte.</param>
/// <param name="Kind">The decoded kind.</param>
/// <param name="DeviceId">Bytes 1-2: bus &lt;&lt; 8 | device &lt;&lt; 3 | function (reserved, 0, for 48h).</param>
/// <param name="Setting">Byte 3: the DTE setting (INITPass, EIntPass, NMIPass, SysMgt, Lint0Pass, Lint1Pass).</param>
/// <param name="SourceDeviceId">Alias source id (42h/43h) or the special device's id (48h); 0 otherwise.</param>
/// <param name="ExtendedData">Extended data of 46h/47h; 0 otherwise.</param>
/// <param name="Handle">IOAPIC id or HPET number of a 48h entry.</param>
/// <param name="Variety">1 for an IOAPIC, 2 for an HPET (48h entries).</param>
/// <param name="Hid">ACPI HID of an F0h entry.</param>
/// <param name="Cid">ACPI CID of an F0h entry (empty when all zero).</param>
/// <param name="UidFormat">UID format of an F0h entry (0 none, 1 integer, 2 string).</param>
/// <param name="Uid">UID of an F0h entry, as text.</param>
/// <param name="Length">Length of the entry in bytes.</param>
public sealed record IvhdDeviceEntry(
    int Offset, byte Type, IvhdEntryKind Kind, ushort DeviceId, byte Setting, ushort SourceDeviceId, uint ExtendedData,
    byte Handle, byte Variety, string Hid, string Cid, byte UidFormat, string Uid, int Length)
{
    /// <summary>Formats a 16-bit device id as <c>BB:DD.F</c>.</summary>
    /// <param name="deviceId">The id.</param>
    /// <returns>The text.</returns>
    public static string FormatDeviceId(ushort deviceId) =>
        string.Create(CultureInfo.InvariantCulture, $"{deviceId >> 8:x2}:{(deviceId >> 3) & 0x1F:x2}.{deviceId & 7:x}");
}

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

/// <summary>An I/O Virtualization Memory Definition block, IVMD (AMD IOMMU spec 5.2.3): a memory range
/// with unity mapping or exclusion for all devices (20h), one device (21h) or a range (22h).</summary>
/// <remarks>Layout: Type 0, Flags 1 (bit 0 Unity, 1 IR, 2 IW, 3 ExclusionRange), Length 2 (=32), DeviceID 4,
/// Auxiliary Data 6 (end of range for 22h), Reserved 8-15, Start Address 16, Memory Block Length 24.</remarks>
/// <param name="Offset">Byte offset of the block in the table.</param>
/// <param name="Type">20h, 21h or 22h.</param>
/// <param name="Flags">The flags byte.</param>
/// <param name="DeviceId">The device (21h) or start of the range (22h).</param>
/// <param name="AuxiliaryData">End of the range for 22h.</param>
/// <param name="StartAddress">First byte of the memory block.</param>
/// <param name="MemoryLength">Length of the memory block in bytes.</param>
public sealed record IvmdBlock(int Offset, byte Type, byte Flags, ushort DeviceId, ushort AuxiliaryData, ulong StartAddress, ulong MemoryLength)
{
    /// <summary>Exclusion range (flags bit 3): the IOMMU does not translate the range.</summary>
    public bool ExclusionRange => (Flags & 8) != 0;

    /// <summary>Unity mapping (flags bit 0): the range is identity-mapped.</summary>
    public bool Unity => (Flags & 1) != 0;
}

/// <summary>
/// The ACPI I/O Virtualization Reporting Structure, IVRS (AMD IOMMU spec chapter 5), parsed from its bytes.
/// </summary>
/// <remarks>Layout: the 36-byte ACPI header, IVinfo 36-39 (bit 0 EFRSup, bits 7:5 GVAsize, 14:8 PAsize,
/// 21:15 VAsize, bit 22 HATDis), Reserved 40-47, then IVHD and IVMD blocks from offset 48, each with
/// Type at 0 and Length at 2. Unknown block types are skipped by length and listed in <see cref="Skipped"/>.
/// Damage is an EINVAL <see cref="IommuException"/> whose message names the byte offset.</remarks>
public sealed class IvrsTable
{
    private const int HeaderSize = 48;

    private IvrsTable(AcpiTableHeader header, uint ivInfo)
    {
        Header = header;
        IvInfo = ivInfo;
    }

    /// <summary>The ACPI header.</summary>
    public AcpiTableHeader Header { get; }

    /// <summary>The IVinfo word at offset 36.</summary>
    public uint IvInfo { get; }

    /// <summary>Physical address size in bits (IVinfo bits 14:8).</summary>
    public int PhysicalAddressSize => (int)(IvInfo >> 8) & 0x7F;

    /// <summary>Virtual address size in bits (IVinfo bits 21:15).</summary>
    public int VirtualAddressSize => (int)(IvInfo >> 15) & 0x7F;

    /// <summary>IOMMU hardware definition blocks, in table order.</summary>
    public ImmutableArray<IvhdBlock> HardwareDefinitions { get; private init; }

    /// <summary>Memory definition blocks.</summary>
    public ImmutableArray<IvmdBlock> MemoryDefinitions { get; private init; }

    /// <summary>Blocks of unknown type, skipped by their length.</summary>
    public ImmutableArray<SkippedSubtable> Skipped { get; private init; }

    /// <summary>Parses an IVRS table.</summary>
    /// <param name="table">The table bytes, exactly as firmware provides them.</param>
    /// <returns>The parsed table.</returns>
    /// <exception cref="IommuException">EINVAL naming the byte offset of the damage.</exception>
    public static IvrsTable Parse(ReadOnlySpan<byte> table)
    {
        AcpiTableHeader header = AcpiTableHeader.Read(table, "IVRS", HeaderSize);
        var r = new TableReader(table[..(int)header.Length], "IVRS");
        var ivhd = ImmutableArray.CreateBuilder<IvhdBlock>();
        var ivmd = ImmutableArray.CreateBuilder<IvmdBlock>();
        var skipped = ImmutableArray.CreateBuilder<SkippedSubtable>();
        int offset = HeaderSize;
        while (offset < r.Length)
        {
            r.Require(offset, 4, "a block header");
            byte type = r.U8(offset);
            int length = r.U16(offset + 2);
            if (length < 4)
                r.Fail(offset + 2, $"block length {length} is below 4");
            r.Require(offset, length, $"block of type {type:x2}h and length {length}");
            switch (type)
            {
                case 0x10 or 0x11 or 0x40:
                    ivhd.Add(ReadIvhd(r, offset, type, length));
                    break;
                case 0x20 or 0x21 or 0x22:
                    if (length < 32)
                        r.Fail(offset + 2, $"IVMD length {length} is below 32");
                    ivmd.Add(new IvmdBlock(offset, type, r.U8(offset + 1), r.U16(offset + 4), r.U16(offset + 6),
                        r.U64(offset + 16), r.U64(offset + 24)));
                    break;
                default:
                    skipped.Add(new SkippedSubtable(type, offset, length));
                    break;
            }
            offset += length;
        }
        return new IvrsTable(header, r.U32(36))
        {
            HardwareDefinitions = ivhd.ToImmutable(),
            MemoryDefinitions = ivmd.ToImmutable(),
            Skipped = skipped.ToImmutable(),
        };
    }

    private static IvhdBlock ReadIvhd(TableReader r, int offset, byte type, int length)
    {
        int fixedPart = type == 0x10 ? 24 : 40;
        if (length < fixedPart)
            r.Fail(offset + 2, $"IVHD type {type:x2}h length {length} is below its fixed part of {fixedPart} bytes");
        var entries = ImmutableArray.CreateBuilder<IvhdDeviceEntry>();
        int end = offset + length;
        for (int at = offset + fixedPart; at < end;)
        {
            IvhdDeviceEntry entry = ReadEntry(r, at, end);
            entries.Add(entry);
            at += entry.Length;
        }
        return new IvhdBlock(offset, type, r.U8(offset + 1), r.U16(offset + 4), r.U16(offset + 6), r.U64(offset + 8),
            r.U16(offset + 16), r.U16(offset + 18), r.U32(offset + 20), type == 0x10 ? null : r.U64(offset + 24),
            entries.ToImmutable());
    }

    private static IvhdDeviceEntry ReadEntry(TableReader r, int at, int end)
    {
        byte type = r.U8(at);
        // The type's top two bits encode the size: 00-3Fh 4 bytes, 40h-7Fh 8, 80h-BFh 16, C0h-FFh 32;
        // F0h (ACPI HID) is the exception, 22 bytes plus its UID.
        int length = type switch
        {
            0xF0 => 22 + (at + 21 < end ? r.U8(at + 21) : 0),
            _ => 4 << (type >> 6),
        };
        if (at + length > end || (type == 0xF0 && at + 22 > end))
            r.Fail(at, $"IVHD device entry of type {type:x2}h and length {length} runs past its block's end at offset {end}");
        ushort deviceId = r.U16(at + 1);
        byte setting = r.U8(at + 3);
        IvhdEntryKind kind = type switch
        {
            0 => IvhdEntryKind.Pad,
            2 => IvhdEntryKind.Select,
            3 => IvhdEntryKind.StartRange,
            4 => IvhdEntryKind.EndRange,
            0x42 => IvhdEntryKind.AliasSelect,
            0x43 => IvhdEntryKind.AliasStartRange,
            0x46 => IvhdEntryKind.ExtendedSelect,
            0x47 => IvhdEntryKind.ExtendedStartRange,
            0x48 => IvhdEntryKind.Special,
            0xF0 => IvhdEntryKind.AcpiHid,
            _ => IvhdEntryKind.Unknown,
        };
        return kind switch
        {
            IvhdEntryKind.AliasSelect or IvhdEntryKind.AliasStartRange =>
                new(at, type, kind, deviceId, setting, r.U16(at + 5), 0, 0, 0, "", "", 0, "", length),
            IvhdEntryKind.ExtendedSelect or IvhdEntryKind.ExtendedStartRange =>
                new(at, type, kind, deviceId, setting, 0, r.U32(at + 4), 0, 0, "", "", 0, "", length),
            IvhdEntryKind.Special =>
                new(at, type, kind, deviceId, setting, r.U16(at + 5), 0, r.U8(at + 4), r.U8(at + 7), "", "", 0, "", length),
            IvhdEntryKind.AcpiHid =>
                new(at, type, kind, deviceId, setting, 0, 0, 0, 0, AcpiTableHeader.Ascii(r.Slice(at + 4, 8)),
                    AcpiTableHeader.Ascii(r.Slice(at + 12, 8)), r.U8(at + 20), AcpiTableHeader.Ascii(r.Slice(at + 22, length - 22)), length),
            _ => new(at, type, kind, deviceId, setting, 0, 0, 0, 0, "", "", 0, "", length),
        };
    }
}
