using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

/// <summary>
/// The ACPI DMA Remapping Reporting table, DMAR (VT-d spec chapter 8), parsed from its bytes
/// (<c>/sys/firmware/acpi/tables/DMAR</c>).
/// </summary>
/// <remarks>
/// Layout: the 36-byte ACPI header, Host Address Width 36 (HAW - 1), Flags 37 (bit 0 INTR_REMAP,
/// bit 1 X2APIC_OPT_OUT, bit 2 DMA_CTRL_PLATFORM_OPT_IN), Reserved 38-47, then remapping structures
/// from offset 48, each starting with Type (16 bits) and Length (16 bits). A structure of unknown
/// type (type 6, SIDP, included) is skipped by its length and listed in <see cref="Skipped"/>.
/// Damage (truncation, a wrong checksum, a length past the table end) is an EINVAL
/// <see cref="IommuException"/> whose message names the byte offset.
/// </remarks>
public sealed class DmarTable
{
    private const int HeaderSize = 48;

    private DmarTable(AcpiTableHeader header, byte hawField, byte flags)
    {
        Header = header;
        HostAddressWidth = hawField + 1;
        Flags = flags;
    }

    /// <summary>The ACPI header.</summary>
    public AcpiTableHeader Header { get; }

    /// <summary>Host address width in bits: byte 36 + 1 (e.g. 46 on a Xeon E5 v2 server).</summary>
    public int HostAddressWidth { get; }

    /// <summary>The flags byte (offset 37).</summary>
    public byte Flags { get; }

    /// <summary>INTR_REMAP (flags bit 0): the platform supports interrupt remapping.</summary>
    public bool InterruptRemapping => (Flags & 1) != 0;

    /// <summary>X2APIC_OPT_OUT (flags bit 1): firmware asks the OS not to enable x2APIC mode.</summary>
    public bool X2ApicOptOut => (Flags & 2) != 0;

    /// <summary>DMA_CTRL_PLATFORM_OPT_IN (flags bit 2): firmware protects against DMA before the OS takes over.</summary>
    public bool DmaControlPlatformOptIn => (Flags & 4) != 0;

    /// <summary>The remapping units (DRHD), in table order (INCLUDE_PCI_ALL units come last in valid tables).</summary>
    public ImmutableArray<DrhdUnit> Units { get; private init; }

    /// <summary>Reserved memory regions (RMRR).</summary>
    public ImmutableArray<RmrrRegion> ReservedMemory { get; private init; }

    /// <summary>Root-port ATS reports (ATSR).</summary>
    public ImmutableArray<AtsrReport> AtsReports { get; private init; }

    /// <summary>Unit NUMA affinities (RHSA).</summary>
    public ImmutableArray<RhsaAffinity> Affinities { get; private init; }

    /// <summary>ACPI namespace device declarations (ANDD).</summary>
    public ImmutableArray<AnddDevice> NamespaceDevices { get; private init; }

    /// <summary>SoC integrated ATC reports (SATC).</summary>
    public ImmutableArray<SatcReport> SocAtcReports { get; private init; }

    /// <summary>Structures of unknown type, skipped by their length.</summary>
    public ImmutableArray<SkippedSubtable> Skipped { get; private init; }

    /// <summary>Parses a DMAR table.</summary>
    /// <param name="table">The table bytes, exactly as firmware provides them.</param>
    /// <returns>The parsed table.</returns>
    /// <exception cref="IommuException">EINVAL naming the byte offset of the damage.</exception>
    public static DmarTable Parse(ReadOnlySpan<byte> table)
    {
        AcpiTableHeader header = AcpiTableHeader.Read(table, "DMAR", HeaderSize);
        var r = new TableReader(table[..(int)header.Length], "DMAR");
        var units = ImmutableArray.CreateBuilder<DrhdUnit>();
        var rmrr = ImmutableArray.CreateBuilder<RmrrRegion>();
        var atsr = ImmutableArray.CreateBuilder<AtsrReport>();
        var rhsa = ImmutableArray.CreateBuilder<RhsaAffinity>();
        var andd = ImmutableArray.CreateBuilder<AnddDevice>();
        var satc = ImmutableArray.CreateBuilder<SatcReport>();
        var skipped = ImmutableArray.CreateBuilder<SkippedSubtable>();

        int offset = HeaderSize;
        while (offset < r.Length)
        {
            r.Require(offset, 4, "a remapping structure header");
            int type = r.U16(offset);
            int length = r.U16(offset + 2);
            if (length < 4)
                r.Fail(offset + 2, $"remapping structure length {length} is below 4");
            r.Require(offset, length, $"remapping structure of type {type} and length {length}");
            switch (type)
            {
                case 0:
                    RequireMinimum(r, offset, length, 16, "DRHD");
                    units.Add(new DrhdUnit(offset, r.U8(offset + 4), r.U8(offset + 5), r.U16(offset + 6), r.U64(offset + 8),
                        ReadScopes(r, offset + 16, offset + length)));
                    break;
                case 1:
                    RequireMinimum(r, offset, length, 24, "RMRR");
                    rmrr.Add(new RmrrRegion(offset, r.U16(offset + 6), r.U64(offset + 8), r.U64(offset + 16),
                        ReadScopes(r, offset + 24, offset + length)));
                    break;
                case 2:
                    RequireMinimum(r, offset, length, 8, "ATSR");
                    atsr.Add(new AtsrReport(offset, r.U8(offset + 4), r.U16(offset + 6), ReadScopes(r, offset + 8, offset + length)));
                    break;
                case 3:
                    RequireMinimum(r, offset, length, 20, "RHSA");
                    rhsa.Add(new RhsaAffinity(offset, r.U64(offset + 8), r.U32(offset + 16)));
                    break;
                case 4:
                    RequireMinimum(r, offset, length, 8, "ANDD");
                    andd.Add(new AnddDevice(offset, r.U8(offset + 7), AcpiTableHeader.Ascii(r.Slice(offset + 8, length - 8))));
                    break;
                case 5:
                    RequireMinimum(r, offset, length, 8, "SATC");
                    satc.Add(new SatcReport(offset, r.U8(offset + 4), r.U16(offset + 6), ReadScopes(r, offset + 8, offset + length)));
                    break;
                default:
                    skipped.Add(new SkippedSubtable(type, offset, length));
                    break;
            }
            offset += length;
        }

        return new DmarTable(header, table[36], table[37])
        {
            Units = units.ToImmutable(),
            ReservedMemory = rmrr.ToImmutable(),
            AtsReports = atsr.ToImmutable(),
            Affinities = rhsa.ToImmutable(),
            NamespaceDevices = andd.ToImmutable(),
            SocAtcReports = satc.ToImmutable(),
            Skipped = skipped.ToImmutable(),
        };
    }

    private static void RequireMinimum(TableReader r, int offset, int length, int minimum, string name)
    {
        if (length < minimum)
            r.Fail(offset + 2, $"{name} length {length} is below its fixed part of {minimum} bytes");
    }

    /// <summary>Reads the device scopes in [start, end): each is 6 bytes plus 2 per path hop.</summary>
    private static ImmutableArray<DeviceScope> ReadScopes(TableReader r, int start, int end)
    {
        var scopes = ImmutableArray.CreateBuilder<DeviceScope>();
        int offset = start;
        while (offset < end)
        {
            if (end - offset < 6)
                r.Fail(offset, $"device scope truncated: {end - offset} bytes left of the 6 its header needs");
            int length = r.U8(offset + 1);
            if (length < 6 || (length - 6) % 2 != 0)
                r.Fail(offset + 1, $"device scope length {length} is not 6 plus 2 per path hop");
            if (offset + length > end)
                r.Fail(offset + 1, $"device scope length {length} runs past its structure's end at offset {end}");
            var path = ImmutableArray.CreateBuilder<PciPathStep>((length - 6) / 2);
            for (int hop = offset + 6; hop < offset + length; hop += 2)
            {
                byte device = r.U8(hop), function = r.U8(hop + 1);
                if (device > 31 || function > 7)
                    r.Fail(hop, $"device scope path hop {device:x2}.{function:x} is not a PCI device.function");
                path.Add(new PciPathStep(device, function));
            }
            scopes.Add(new DeviceScope((DeviceScopeType)r.U8(offset), r.U8(offset + 4), r.U8(offset + 5), path.MoveToImmutable()));
            offset += length;
        }
        return scopes.ToImmutable();
    }
}
