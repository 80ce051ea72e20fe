using System.Collections.Immutable;
using Siov.Fast.Platforms;

namespace Siov.Fast.Tests.Platforms;

/// <summary>Unit resolution, iommu groups, RMRR, ATS and registers on real platforms, against hand-computed facts.</summary>
public class PlatformDescriptionTests
{
    private static PciAddress A(string text) => PciAddress.Parse(text);

    private static PlatformDescription R820(string? lspci = null, string? dmesg = null) =>
        PlatformDescription.Load(PlatformTestData.Bytes("dell-poweredge-r820.dmar"), null, lspci, dmesg);

    [R820LspciFact]
    public void UnitFor_R820_FollowsTheDmarRules()
    {
        PlatformDescription platform = R820(PlatformTestData.R820LspciText());

        Assert.Equal(0xCF000000UL, platform.FindDevice(A("40:05.0"))!.UnitRegisterBase); // endpoint scope
        Assert.Equal(0xCF000000UL, platform.UnitFor(A("42:00.0")));                      // behind bridge scope 40:02.0 (buses 42-42)
        Assert.Equal(0xCF000000UL, platform.FindDevice(A("40:02.0"))!.UnitRegisterBase); // the bridge itself
        Assert.Equal(0xDF100000UL, platform.FindDevice(A("00:1f.2"))!.UnitRegisterBase); // INCLUDE_PCI_ALL takes the rest
        Assert.Equal(0xDF100000UL, platform.UnitFor(A("45:00.0")));                      // under no bridge scope
        Assert.Equal(0xC8000000UL, platform.FindDevice(A("80:05.0"))!.UnitRegisterBase);
        Assert.Null(platform.UnitFor(new PciAddress(1, 0, 0, 0)));                       // no unit for segment 1
    }

    [Fact]
    public void UnitFor_R820WithoutLspci_DevicesAreTheEndpointScopes()
    {
        PlatformDescription platform = R820();

        // Endpoint scopes in the table (IOAPIC/HPET scopes are not PCI devices).
        Assert.Equal(["00:1a.0", "00:1d.0", "40:05.0", "40:05.2", "80:05.0", "c0:05.0"],
            platform.Devices.Select(d => d.Address.ToShortString()));
        Assert.Equal([0xDF100000UL, 0xDF100000UL, 0xCF000000UL, 0xCF000000UL, 0xC8000000UL, 0xC4000000UL],
            platform.Devices.Select(d => d.UnitRegisterBase!.Value));
        // Without a topology, functions of one device share a group: nothing shows they isolate.
        Assert.Equal(5, platform.Groups.Length);
        Assert.Equal([A("40:05.0"), A("40:05.2")], platform.Groups[2].Devices.AsEnumerable());
        // Without a topology the bridge scope's buses are unknown: 42:00.0 falls to INCLUDE_PCI_ALL.
        Assert.Equal(0xDF100000UL, platform.UnitFor(A("42:00.0")));
    }

    [Fact]
    public void ReservedRegions_R820_00_1a_0_HasBothRmrrRanges()
    {
        PlatformDescription platform = R820();

        Assert.Equal([new ReservedRegion(0xBF458000, 0xBF46FFFF), new ReservedRegion(0xBF450000, 0xBF450FFF)],
            platform.FindDevice(A("00:1a.0"))!.ReservedRegions.AsEnumerable());
        Assert.Equal([new ReservedRegion(0xBF458000, 0xBF46FFFF), new ReservedRegion(0xBF452000, 0xBF452FFF)],
            platform.FindDevice(A("00:1d.0"))!.ReservedRegions.AsEnumerable());
        Assert.Empty(platform.FindDevice(A("40:05.0"))!.ReservedRegions);
    }

    [R820LspciFact]
    public void Groups_R820_FollowAcsCapability()
    {
        PlatformDescription platform = R820(PlatformTestData.R820LspciText());
        GroupDescription GroupOf(string address) => platform.Groups[platform.FindDevice(A(address))!.GroupId];

        // 00:1c.0/00:1c.7 (PCH root ports, no ACS capability, one multifunction device) take the switch
        // below 00:1c.7 and the VGA behind the PCIe-to-PCI bridge 09:00.0 with them.
        Assert.Equal(new[] { "00:1c.0", "00:1c.7", "07:00.0", "08:00.0", "08:01.0", "09:00.0", "0a:00.0" }.Select(A),
            GroupOf("0a:00.0").Devices);
        // The 4-function NIC has no ACS: one group, but its root port's ACS keeps 00:01.0 out.
        Assert.Equal(new[] { "01:00.0", "01:00.1", "01:00.2", "01:00.3" }.Select(A), GroupOf("01:00.2").Devices);
        Assert.Equal([A("00:01.0")], GroupOf("00:01.0").Devices.AsEnumerable());
        Assert.Equal([A("02:00.0")], GroupOf("02:00.0").Devices.AsEnumerable());
        Assert.Equal([A("00:00.0")], platform.Groups[0].Devices.AsEnumerable());
        // Every function is in exactly one group; ids follow the lowest address.
        Assert.Equal(195, platform.Groups.Sum(g => g.Devices.Length));
        Assert.Equal(platform.Groups.Select(g => g.Devices[0]).Order(), platform.Groups.Select(g => g.Devices[0]));
        Assert.Equal(Enumerable.Range(0, platform.Groups.Length), platform.Groups.Select(g => g.Id));
        Assert.Contains($"/sys/kernel/iommu_groups/{GroupOf("0a:00.0").Id}/devices/0000:0a:00.0", GroupOf("0a:00.0").SysfsPaths);
    }

    [Fact]
    public void Groups_HandBuiltTopology_AcsOnTheRootPortSeparatesSlots()
    {
        const string lspci = """
            00:01.0 PCI bridge [0604]: root port with ACS [8086:0001]
            	Bus: primary=00, secondary=01, subordinate=01, sec-latency=0
            	Capabilities: [90] Express (v2) Root Port (Slot-), MSI 00
            	Capabilities: [110 v1] Access Control Services
            		ACSCap:	SrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-
            00:02.0 PCI bridge [0604]: root port lacking UpstreamFwd [8086:0002]
            	Bus: primary=00, secondary=02, subordinate=02, sec-latency=0
            	Capabilities: [90] Express (v2) Root Port (Slot-), MSI 00
            	Capabilities: [110 v1] Access Control Services
            		ACSCap:	SrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd- EgressCtrl+ DirectTrans+
            01:00.0 Ethernet controller [0200]: nic [15b3:0001]
            	Capabilities: [60] Express (v2) Endpoint, MSI 00
            02:00.0 Ethernet controller [0200]: nic [15b3:0002]
            	Capabilities: [60] Express (v2) Endpoint, MSI 00
            """;
        ImmutableArray<GroupDescription> groups = IommuGrouping.Compute(PciTopology.ParseLspci(lspci).Functions.Select(f => f.Address),
            PciTopology.ParseLspci(lspci));

        Assert.Equal([[A("00:01.0")], [A("00:02.0"), A("02:00.0")], [A("01:00.0")]], groups.Select(g => g.Devices.ToArray()));
    }

    [R820LspciFact]
    public void AtsAllowed_R820_OnlyUnderAtsrRootPorts()
    {
        PlatformDescription platform = R820(PlatformTestData.R820LspciText());

        Assert.True(platform.FindDevice(A("01:00.0"))!.AtsAllowed);  // root port 00:01.0 is in the ATSR
        Assert.True(platform.FindDevice(A("02:00.0"))!.AtsAllowed);  // root port 00:02.0 is in the ATSR
        Assert.False(platform.FindDevice(A("0a:00.0"))!.AtsAllowed); // behind a PCIe-to-PCI bridge under 00:1c.7
        Assert.False(platform.FindDevice(A("00:1f.2"))!.AtsAllowed); // integrated: no root port, no SATC
        Assert.All(platform.Devices, d => Assert.False(d.Satc));
    }

    [Fact]
    public void Satc_MsiLunarLake_MarksTheSocDevices()
    {
        PlatformDescription platform = PlatformDescription.Load(PlatformTestData.Bytes("msi-prestige-13-ai-evo.dmar"), null);

        Assert.Equal(["00:02.0", "00:05.0", "00:0b.0"], platform.Devices.Where(d => d.Satc).Select(d => d.Address.ToShortString()));
        Assert.All(platform.Devices.Where(d => d.Satc), d => Assert.True(d.AtsAllowed));
        // The .dsl twin: the SATC structure's "Flags : 01", ATC_REQUIRED.
        Assert.All(platform.Devices, d => Assert.Equal(d.Satc, d.AtcRequired));
        Assert.Equal(0xFC800000UL, platform.FindDevice(A("00:02.0"))!.UnitRegisterBase);
    }

    [Fact]
    public void Registers_FromBootLog_MatchedByRegisterBase_OthersGetTheDefaultProfile()
    {
        const string dmesg = """
            [    0.009851] DMAR: Host address width 46
            [    0.009853] DMAR: DRHD base: 0x000000cf000000 flags: 0x0
            [    0.009861] DMAR: dmar0: reg_base_addr cf000000 ver 1:0 cap d2078c106f0466 ecap f020de
            [    0.009870] unrelated line
            """;
        PlatformDescription platform = R820(dmesg: dmesg);

        PlatformUnit unit = platform.Units[0];
        Assert.Equal(0xd2078c106f0466UL, unit.Capability);
        Assert.Equal(0xf020deUL, unit.ExtendedCapability);
        Assert.Equal("dmesg dmar0 (ver 1:0)", unit.ProfileName);
        Assert.Equal(46, unit.HostAddressWidth);
        Assert.Equal(0x0c9008020660262UL, platform.Units[3].Capability);
        Assert.Equal(PlatformUnit.DefaultProfileName, platform.Units[3].ProfileName);
        Assert.Equal(48, unit.DecodedCapability.MaximumGuestAddressWidth); // MGAW field 0x2f + 1
    }

    [Fact]
    public void BootLog_ReadsEveryUnitLine()
    {
        DmarBootLog log = DmarBootLog.Parse("""
            DMAR: Host address width 52
            DMAR: dmar0: reg_base_addr d97fc000 ver 6:0 cap 19ed008c40780c66 ecap 3ee9e86f050df
            DMAR: dmar1: reg_base_addr fed90000 ver 1:0 cap c9008020660262 ecap f010da
            """);

        Assert.Equal(52, log.HostAddressWidth);
        Assert.Equal(new DmarUnitRegisters("dmar0", 0xd97fc000, 6, 0, 0x19ed008c40780c66, 0x3ee9e86f050df), log.Units[0]);
        Assert.Equal(0xfed90000UL, log.Units[1].RegisterBase);
    }

    [Fact]
    public void Ivrs_Supermicro_DevicesFromSelectEntries_CoveredByTheIommu()
    {
        PlatformDescription platform = PlatformDescription.Load(null, PlatformTestData.Bytes("supermicro-h8dgu.ivrs"));

        Assert.Equal(["00:02.0", "00:04.0", "00:11.0", "00:14.0", "00:14.3", "00:14.4", "00:14.5", "04:00.0"],
            platform.Devices.Select(d => d.Address.ToShortString()));
        Assert.All(platform.Devices, d => Assert.Equal(0xF6000000UL, d.UnitRegisterBase));
        Assert.Equal(0xF6000000UL, platform.UnitFor(A("01:05.0")));   // alias range 0100-01ff
        Assert.Equal(0xF6000000UL, platform.UnitFor(A("02:1f.7")));   // range 0200-02ff
        Assert.Null(platform.UnitFor(A("05:00.0")));                  // in no entry
        Assert.Empty(platform.Units);
    }

    [Fact]
    public void Load_WithoutTables_IsEinval()
    {
        var e = Assert.Throws<IommuException>(() => PlatformDescription.Load(null, null, "", ""));
        Assert.Equal(Errno.EINVAL, e.Code);
    }
}
