using Siov.Fast.Platforms;

namespace Siov.Fast.Tests.Platforms;

/// <summary>lspci -vvnn parsing, on a small hand-written capture and on the real R820 capture.</summary>
public class LspciTests
{
    private const string Sample = """
        00:01.0 PCI bridge [0604]: Example Root Port [8086:0e02] (rev 04) (prog-if 00 [Normal decode])
        	Bus: primary=00, secondary=01, subordinate=02, sec-latency=0
        	Capabilities: [90] Express (v2) Root Port (Slot-), MSI 00
        	Capabilities: [110 v1] Access Control Services
        		ACSCap:	SrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl+ DirectTrans-
        		ACSCtl:	SrcValid+ TransBlk- ReqRedir- CmpltRedir- UpstreamFwd- EgressCtrl- DirectTrans-

        01:00.0 Ethernet controller [0200]: Example NIC [15b3:101d]
        	Capabilities: [60] Express (v2) Endpoint, MSI 00
        	Capabilities: [480 v1] Address Translation Service (ATS)
        		ATSCap:	Invalidate Queue Depth: 00
        	Capabilities: [490 v1] Process Address Space ID (PASID)
        		PASIDCap: Exec- Priv-, Max PASID Width: 14
        	Capabilities: [4a0 v1] Page Request Interface (PRI)

        01:00.1 Ethernet controller [0200]: Example NIC [15b3:101d]
        	Capabilities: [60] Express (v2) Endpoint, MSI 00
        """;

    [Fact]
    public void ParseLspci_Sample_ReadsEveryField()
    {
        PciTopology topology = PciTopology.ParseLspci(Sample);

        Assert.Equal(3, topology.Functions.Length);
        PciFunction port = topology.Find(PciAddress.Parse("00:01.0"))!;
        Assert.True(port.IsBridge);
        Assert.Equal((0, 1, 2), (port.PrimaryBus, port.SecondaryBus, port.SubordinateBus));
        Assert.Equal(PciExpressType.RootPort, port.ExpressType);
        Assert.Equal(0x0604, port.ClassCode);
        Assert.Equal((0x8086, 0x0e02), (port.VendorId, port.DeviceId));
        Assert.True(port.HasAcs);
        Assert.Equal(AcsCapabilities.SourceValidation | AcsCapabilities.RequestRedirect | AcsCapabilities.CompletionRedirect
            | AcsCapabilities.UpstreamForwarding | AcsCapabilities.EgressControl, port.AcsCapability);
        Assert.Equal(AcsCapabilities.SourceValidation, port.AcsControl);
        Assert.False(port.IsMultifunction);

        PciFunction nic = topology.Find(PciAddress.Parse("01:00.0"))!;
        Assert.True(nic.Ats && nic.Pasid && nic.Pri);
        Assert.Equal(20, nic.MaxPasidWidth); // pciutils prints the width in hex
        Assert.True(nic.IsMultifunction);
        Assert.False(nic.IsBridge);
        Assert.Equal([port], topology.UpstreamBridges(nic.Address));
        Assert.Empty(topology.UpstreamBridges(PciAddress.Parse("02:03.0"))); // no bridge in the sample has secondary bus 02
    }

    [Fact]
    public void ParseLspci_Garbage_IsEinvalNamingTheLine()
    {
        var e = Assert.Throws<IommuException>(() => PciTopology.ParseLspci("00:01.0 PCI bridge [0604]: x\nnot a header line\n"));
        Assert.Equal(Errno.EINVAL, e.Code);
        Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
        Assert.Throws<IommuException>(() => PciTopology.ParseLspci(""));
    }

    [Fact]
    public void ParseLspci_PciutilsWarnings_AreIgnored()
    {
        PciTopology topology = PciTopology.ParseLspci("pcilib: Error reading /sys/bus/pci/devices/0000:00:08.3/label\n" + Sample);
        Assert.Equal(3, topology.Functions.Length);
    }

    [Fact]
    public void SharedFile_Absent_IsNullSoTheR820FactsSkip()
    {
        Assert.Null(PlatformTestData.SharedFile("no-such-capture.lspci.txt"));
        Assert.Equal(PlatformTestData.SharedFile(PlatformTestData.R820Lspci) is null, new R820LspciFactAttribute().Skip is not null);
    }

    [R820LspciFact]
    public void ParseLspci_R820_HandCheckedFunctions()
    {
        PciTopology topology = PciTopology.ParseLspci(PlatformTestData.R820LspciText());

        Assert.Equal(195, topology.Functions.Length); // header lines in the capture
        PciFunction rootPort = topology.Find(PciAddress.Parse("00:01.0"))!;
        Assert.Equal(PciExpressType.RootPort, rootPort.ExpressType);
        Assert.Equal(AcsCapabilities.SourceValidation | AcsCapabilities.TranslationBlocking | AcsCapabilities.RequestRedirect
            | AcsCapabilities.CompletionRedirect | AcsCapabilities.UpstreamForwarding, rootPort.AcsCapability);
        Assert.Equal(AcsCapabilities.None, rootPort.AcsControl); // captured with the IOMMU off
        Assert.True((topology.Find(PciAddress.Parse("00:11.0"))!.AcsCapability & AcsCapabilities.DirectTranslatedP2P) != 0);
        Assert.False(topology.Find(PciAddress.Parse("00:1c.7"))!.HasAcs);
        Assert.Equal((0x07, 0x0b), (topology.Find(PciAddress.Parse("00:1c.7"))!.SecondaryBus, topology.Find(PciAddress.Parse("00:1c.7"))!.SubordinateBus));
        Assert.Equal(PciExpressType.UpstreamPort, topology.Find(PciAddress.Parse("07:00.0"))!.ExpressType);
        Assert.Equal(PciExpressType.DownstreamPort, topology.Find(PciAddress.Parse("08:01.0"))!.ExpressType);
        PciFunction pciBridge = topology.Find(PciAddress.Parse("09:00.0"))!;
        Assert.Equal(PciExpressType.PcieToPciBridge, pciBridge.ExpressType);
        Assert.Equal(0x0a, pciBridge.SecondaryBus);
        Assert.Equal(PciExpressType.None, topology.Find(PciAddress.Parse("00:1e.0"))!.ExpressType);
        Assert.Equal(PciExpressType.RootComplexIntegratedEndpoint, topology.Find(PciAddress.Parse("00:05.0"))!.ExpressType);
        Assert.True(topology.Find(PciAddress.Parse("01:00.3"))!.IsMultifunction);
        Assert.False(topology.Find(PciAddress.Parse("02:00.0"))!.IsMultifunction);
        Assert.Null(topology.Find(PciAddress.Parse("3f:0f.2"))!.VendorId); // lspci cut that line before the ids
        Assert.Equal((0x42, 0x42), (topology.Find(PciAddress.Parse("40:02.0"))!.SecondaryBus, topology.Find(PciAddress.Parse("40:02.0"))!.SubordinateBus));
        Assert.Equal(["09:00.0", "08:00.0", "07:00.0", "00:1c.7"],
            topology.UpstreamBridges(PciAddress.Parse("0a:00.0")).Select(b => b.Address.ToShortString()));
    }
}
