using Siov.Fast.Platforms;

namespace Siov.Fast.Tests.Platforms;

/// <summary>Every real DMAR table parsed from its bytes agrees with iasl's decoding of the same bytes.</summary>
public class DmarOracleTests
{
    public static TheoryData<string> Tables => PlatformTestData.DmarTables;

    [Fact]
    public void DataFolder_HoldsEveryDmarTable()
    {
        Assert.Equal(6, PlatformTestData.DmarNames.Length);
        Assert.Equal(2, PlatformTestData.IvrsNames.Length);
    }

    [Theory]
    [MemberData(nameof(Tables))]
    public void Parse_RealTable_HeaderMatchesIasl(string name)
    {
        DmarTable table = DmarTable.Parse(PlatformTestData.Bytes(name));
        DslOracle.Table dsl = DslOracle.ReadDmar(PlatformTestData.Dsl(name));

        Assert.Equal("DMAR", table.Header.Signature);
        Assert.Equal(dsl.Header.First(f => f.Name == "Table Length").Hex, table.Header.Length);
        Assert.Equal(dsl.Header.First(f => f.Name == "Checksum").Hex, table.Header.Checksum);
        Assert.Equal((int)dsl.Header.First(f => f.Name == "Host Address Width").Hex + 1, table.HostAddressWidth);
        Assert.Equal(dsl.Header.First(f => f.Name == "Flags").Hex, table.Flags);
        Assert.Equal(dsl.Header.First(f => f.Name == "Oem ID").Text.TrimEnd(), table.Header.OemId.TrimEnd());
    }

    [Theory]
    [MemberData(nameof(Tables))]
    public void Parse_RealTable_EveryStructureMatchesIasl(string name)
    {
        DmarTable table = DmarTable.Parse(PlatformTestData.Bytes(name));
        DslOracle.Table dsl = DslOracle.ReadDmar(PlatformTestData.Dsl(name));
        Assert.NotEmpty(dsl.Structures);
        Assert.True(dsl.Structures.Sum(s => s.Scopes.Count) > 0);

        Assert.Equal(dsl.Structures.Count(s => s.Type == 0), table.Units.Length);
        Assert.Equal(dsl.Structures.Count(s => s.Type == 1), table.ReservedMemory.Length);
        Assert.Equal(dsl.Structures.Count(s => s.Type == 2), table.AtsReports.Length);
        Assert.Equal(dsl.Structures.Count(s => s.Type == 3), table.Affinities.Length);
        Assert.Equal(dsl.Structures.Count(s => s.Type == 4), table.NamespaceDevices.Length);
        Assert.Equal(dsl.Structures.Count(s => s.Type == 5), table.SocAtcReports.Length);
        Assert.Equal(dsl.Structures.Count(s => s.Type > 5), table.Skipped.Length);

        foreach (DslOracle.Structure s in dsl.Structures)
        {
            switch (s.Type)
            {
                case 0:
                    DrhdUnit unit = Assert.Single(table.Units, u => u.Offset == s.Offset);
                    Assert.Equal(s.Get("Flags").Hex, unit.Flags);
                    Assert.Equal((s.Get("Flags").Hex & 1) != 0, unit.IncludePciAll);
                    Assert.Equal(s.Get("PCI Segment Number").Hex, unit.Segment);
                    Assert.Equal(s.Get("Register Base Address").Hex, unit.RegisterBase);
                    AssertScopes(s.Scopes, unit.Scopes);
                    break;
                case 1:
                    RmrrRegion rmrr = Assert.Single(table.ReservedMemory, r => r.Offset == s.Offset);
                    Assert.Equal(s.Get("PCI Segment Number").Hex, rmrr.Segment);
                    Assert.Equal(s.Get("Base Address").Hex, rmrr.Base);
                    Assert.Equal(s.Get("End Address (limit)").Hex, rmrr.Limit);
                    AssertScopes(s.Scopes, rmrr.Scopes);
                    break;
                case 2:
                    AtsrReport atsr = Assert.Single(table.AtsReports, r => r.Offset == s.Offset);
                    Assert.Equal(s.Get("Flags").Hex, atsr.Flags);
                    Assert.Equal(s.Get("PCI Segment Number").Hex, atsr.Segment);
                    AssertScopes(s.Scopes, atsr.Scopes);
                    break;
                case 4:
                    AnddDevice andd = Assert.Single(table.NamespaceDevices, r => r.Offset == s.Offset);
                    Assert.Equal(s.Get("Device Number").Hex, andd.DeviceNumber);
                    Assert.Equal(s.Get("Device Name").Text, andd.ObjectName);
                    break;
                case 5:
                    SatcReport satc = Assert.Single(table.SocAtcReports, r => r.Offset == s.Offset);
                    Assert.Equal(s.Get("Flags").Hex, satc.Flags);
                    Assert.Equal(s.Get("PCI Segment Number").Hex, satc.Segment);
                    AssertScopes(s.Scopes, satc.Scopes);
                    break;
                case > 5:
                    SkippedSubtable skipped = Assert.Single(table.Skipped, r => r.Offset == s.Offset);
                    Assert.Equal(s.Type, skipped.Type);
                    Assert.Equal((int)s.Get("Length").Hex, skipped.Length);
                    break;
            }
        }
    }

    private static void AssertScopes(List<DslOracle.Scope> expected, IReadOnlyList<DeviceScope> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Type, (int)actual[i].Type);
            Assert.Equal(expected[i].EnumerationId, actual[i].EnumerationId);
            Assert.Equal(expected[i].Bus, actual[i].StartBus);
            Assert.Equal(expected[i].Path, actual[i].Path.Select(p => ((int)p.Device, (int)p.Function)));
        }
    }

    [Fact]
    public void Parse_R820_HandCheckedFacts()
    {
        DmarTable table = DmarTable.Parse(PlatformTestData.Bytes("dell-poweredge-r820.dmar"));

        Assert.Equal(46, table.HostAddressWidth); // byte 36 is 0x2D
        Assert.Equal([0xCF000000UL, 0xC8000000UL, 0xC4000000UL, 0xDF100000UL], table.Units.Select(u => u.RegisterBase));
        Assert.Equal([false, false, false, true], table.Units.Select(u => u.IncludePciAll));
        Assert.Equal(3, table.ReservedMemory.Length);
        AtsrReport atsr = Assert.Single(table.AtsReports);
        Assert.False(atsr.AllPorts);
        Assert.Equal(8, atsr.Scopes.Length);
        Assert.All(atsr.Scopes, s => Assert.Equal(DeviceScopeType.PciBridge, s.Type));
        Assert.Empty(table.Skipped);
    }

    [Fact]
    public void Parse_MsiLunarLake_SkipsType6AndReadsSatc()
    {
        DmarTable table = DmarTable.Parse(PlatformTestData.Bytes("msi-prestige-13-ai-evo.dmar"));

        SkippedSubtable skipped = Assert.Single(table.Skipped);
        Assert.Equal(new SkippedSubtable(6, 0xB8, 0x20), skipped);
        SatcReport satc = Assert.Single(table.SocAtcReports);
        Assert.True(satc.AtcRequired);
        Assert.Equal(["00:02.0", "00:05.0", "00:0b.0"], satc.Scopes.Select(s => s.ToString()));
        Assert.Equal(4, table.Units[0].SizeField); // the "Reserved : 04" byte of iasl is the DRHD size field
    }

    [Fact]
    public void Parse_Asus_ReadsNamespaceDevicesAndScopes()
    {
        DmarTable table = DmarTable.Parse(PlatformTestData.Bytes("asus-q325uar.dmar"));

        Assert.Equal(@"\_SB.PCI0.I2C0", table.NamespaceDevices[0].ObjectName);
        Assert.Equal([1, 2, 7, 9], table.NamespaceDevices.Select(d => (int)d.DeviceNumber));
        Assert.Contains(table.Units.SelectMany(u => u.Scopes), s => s.Type == DeviceScopeType.AcpiNamespaceDevice && s.EnumerationId == 1);
    }

    [Fact]
    public void Parse_HpDl380e_ReadsTwoHopPaths()
    {
        DmarTable table = DmarTable.Parse(PlatformTestData.Bytes("hp-proliant-dl380e-gen8.dmar"));

        DeviceScope twoHop = table.ReservedMemory.SelectMany(r => r.Scopes).First(s => s.Path.Length == 2);
        Assert.Equal("00:1c.7/00.0", twoHop.ToString());
        Assert.Null(twoHop.DirectAddress(0));
        Assert.Equal(2, table.AtsReports.Length);
    }
}
