using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

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
