using Siov.Fast.Platforms;

namespace Siov.Fast.Tests.Platforms;

/// <summary>Every real IVRS table parsed from its bytes agrees with iasl's decoding of the same bytes.</summary>
public class IvrsOracleTests
{
    public static TheoryData<string> Tables => PlatformTestData.IvrsTables;

    [Theory]
    [MemberData(nameof(Tables))]
    public void Parse_RealTable_MatchesIasl(string name)
    {
        IvrsTable table = IvrsTable.Parse(PlatformTestData.Bytes(name));
        DslOracle.Table dsl = DslOracle.ReadIvrs(PlatformTestData.Dsl(name));
        Assert.NotEmpty(dsl.Structures);

        Assert.Equal(dsl.Header.First(f => f.Name == "Table Length").Hex, table.Header.Length);
        Assert.Equal(dsl.Header.First(f => f.Name == "Virtualization Info").Hex, table.IvInfo);
        Assert.Equal(dsl.Structures.Count(s => s.Type is 0x10 or 0x11 or 0x40), table.HardwareDefinitions.Length);
        Assert.Equal(dsl.Structures.Count(s => s.Type is 0x20 or 0x21 or 0x22), table.MemoryDefinitions.Length);
        Assert.Equal(dsl.UnknownTypesWithoutOffset, table.Skipped.Select(s => s.Type));

        foreach (DslOracle.Structure s in dsl.Structures)
        {
            if (s.Type is 0x20 or 0x21 or 0x22)
            {
                IvmdBlock ivmd = Assert.Single(table.MemoryDefinitions, m => m.Offset == s.Offset);
                Assert.Equal(s.Type, ivmd.Type);
                Assert.Equal(s.Get("Flags").Hex, ivmd.Flags);
                Assert.Equal(s.Get("DeviceId").Hex, ivmd.DeviceId);
                Assert.Equal(s.Get("Auxiliary Data").Hex, ivmd.AuxiliaryData);
                Assert.Equal(s.Get("Start Address").Hex, ivmd.StartAddress);
                Assert.Equal(s.Get("Memory Length").Hex, ivmd.MemoryLength);
                continue;
            }
            IvhdBlock ivhd = Assert.Single(table.HardwareDefinitions, h => h.Offset == s.Offset);
            Assert.Equal(s.Type, ivhd.Type);
            Assert.Equal(s.Get("Flags").Hex, ivhd.Flags);
            Assert.Equal(s.Get("DeviceId").Hex, ivhd.DeviceId);
            Assert.Equal(s.Get("Capability Offset").Hex, ivhd.CapabilityOffset);
            Assert.Equal(s.Get("Base Address").Hex, ivhd.IommuBase);
            Assert.Equal(s.Get("PCI Segment Group").Hex, ivhd.Segment);
            Assert.Equal(s.Get("Virtualization Info").Hex, ivhd.Info);
            if (s.Type == 0x10)
            {
                // Older iasl calls the feature-reporting word "Reserved".
                DslOracle.Field feature = s.Find("Feature Reporting") ?? s.Fields.First(f => f.Name == "Reserved" && f.Offset == s.Offset + 20);
                Assert.Equal(feature.Hex, ivhd.FeatureReporting);
                Assert.Null(ivhd.EfrImage);
            }
            else
            {
                Assert.Equal(s.Get("Attributes").Hex, ivhd.FeatureReporting);
                Assert.Equal(s.Get("EFR Image").Hex, ivhd.EfrImage);
            }

            Assert.Equal(s.Entries.Count, ivhd.Entries.Length);
            for (int i = 0; i < s.Entries.Count; i++)
            {
                DslOracle.Structure e = s.Entries[i];
                IvhdDeviceEntry actual = ivhd.Entries[i];
                Assert.Equal(e.Offset, actual.Offset);
                Assert.Equal(e.Type, actual.Type);
                Assert.Equal(e.Get("Device ID").Hex, actual.DeviceId);
                Assert.Equal(e.Get("Data Setting").Hex, actual.Setting);
                if (e.Find("Source Used Device ID") is { } source)
                    Assert.Equal(source.Hex, actual.SourceDeviceId);
                if (e.Find("Handle") is { } handle)
                    Assert.Equal(handle.Hex, actual.Handle);
                if (e.Find("Variety") is { } variety)
                    Assert.Equal(variety.Hex, actual.Variety);
                if (e.Find("ACPI HID") is { } hid)
                {
                    Assert.Equal(hid.Text, actual.Hid);
                    Assert.Equal(e.Get("ACPI CID").Hex == 0 ? "" : e.Get("ACPI CID").Text, actual.Cid);
                    Assert.Equal(e.Get("UID Format").Hex, actual.UidFormat);
                    Assert.Equal(e.Get("UID").Text, actual.Uid);
                    Assert.Equal(22 + (int)e.Get("UID Length").Hex, actual.Length);
                }
            }
        }
    }

    [Fact]
    public void Parse_SupermicroH8dgu_AliasRangeAndSpecialDevices()
    {
        IvrsTable table = IvrsTable.Parse(PlatformTestData.Bytes("supermicro-h8dgu.ivrs"));

        IvhdBlock ivhd = Assert.Single(table.HardwareDefinitions);
        Assert.Equal(0xF6000000UL, ivhd.IommuBase);
        // Bus 01 (0100-01ff) is aliased to 00:14.4 (00a4).
        IvhdDeviceEntry alias = Assert.Single(ivhd.Entries, e => e.Kind == IvhdEntryKind.AliasStartRange);
        Assert.Equal(0x0100, alias.DeviceId);
        Assert.Equal(0x00A4, alias.SourceDeviceId);
        Assert.Equal("00:14.4", IvhdDeviceEntry.FormatDeviceId(alias.SourceDeviceId));
        var special = ivhd.Entries.Where(e => e.Kind == IvhdEntryKind.Special).ToArray();
        Assert.Equal([1, 2, 1], special.Select(e => (int)e.Variety));
        Assert.Equal([0, 0, 1], special.Select(e => (int)e.Handle));
        Assert.Empty(table.Skipped);
    }

    [Fact]
    public void Parse_ThinkPadT14_ThreeIvhdTypesExclusionAndUnknown51()
    {
        IvrsTable table = IvrsTable.Parse(PlatformTestData.Bytes("lenovo-thinkpad-t14-gen3.ivrs"));

        Assert.Equal([0x10, 0x11, 0x40], table.HardwareDefinitions.Select(h => (int)h.Type));
        IvmdBlock ivmd = Assert.Single(table.MemoryDefinitions);
        Assert.True(ivmd.ExclusionRange);
        Assert.Equal(0x7132F000UL, ivmd.StartAddress);
        SkippedSubtable skipped = Assert.Single(table.Skipped);
        Assert.Equal(0x51, skipped.Type);
        Assert.Equal(0x1C4, skipped.Offset); // the 40h block at 0xF0 is 0xD4 long
        Assert.Equal(table.Header.Length, (uint)(skipped.Offset + skipped.Length));
        Assert.Equal(4, table.HardwareDefinitions[2].Entries.Count(e => e.Kind == IvhdEntryKind.AcpiHid));
        Assert.Equal(@"\_SB.FUR0", table.HardwareDefinitions[2].Entries.First(e => e.Kind == IvhdEntryKind.AcpiHid).Uid);
    }
}
