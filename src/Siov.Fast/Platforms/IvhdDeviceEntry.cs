using System.Globalization;

namespace Siov.Fast.Platforms;

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
