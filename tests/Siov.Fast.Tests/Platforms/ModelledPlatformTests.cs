using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.PageTables;
using Siov.Fast.Platforms;

namespace Siov.Fast.Tests.Platforms;

/// <summary>From a description (or the embedded default) to live units, devices and groups.</summary>
public class ModelledPlatformTests
{
    [Fact]
    public void Default_OffersTheSeed002Ingredients()
    {
        using ModelledPlatform p = ModelledPlatform.CreateDefault();
        Assert.All(p.Units, u => Assert.True(u.IsScalableMode));
        PciDevice parent = p.Core.FindPciDevice(PciAddress.Parse("01:00.0"))!;
        Assert.True(p.Core.DevHasFeature(parent, IommuDevFeature.Aux));
        Assert.Equal(8, Assert.Single(p.Core.GetMdevTypes(parent)).AvailableInstances);
        PciDevice fn1 = p.Core.FindPciDevice(PciAddress.Parse("03:00.1"))!;
        Assert.Equal(2, fn1.Group!.Devices.Count);
        Assert.Same(p.Units[0], p.UnitFor(0x0010));   // 00:02.0 on dmar0
        Assert.Same(p.Units[1], p.UnitFor(0x7700));   // nobody's: the INCLUDE_PCI_ALL unit, which faults it
        Assert.Equal(FaultReason.SmRootEntryNotPresent, p.UnitFor(0x7700).Translate(new DmaRequest(0x7700, null, 0, DmaAccess.Read)).Fault);
        Assert.Equal(FaultReason.SmContextEntryNotPresent, p.UnitFor(0x0108).Translate(new DmaRequest(0x0108, null, 0, DmaAccess.Read)).Fault);
    }

    /// <summary>The Arm platform as a library user gets it: one SMMUv3 under arm-smmu-v3, the same devices at the same
    /// addresses, and seed 004's driver rules (a domain's mode sticks).</summary>
    [Fact]
    public void ArmDemo_IsOneSmmuV3WithTheSeedDevices()
    {
        using ModelledPlatform p = ModelledPlatform.CreateEmbedded("arm-demo");
        Smmu smmu = Assert.Single(p.Smmus);
        Assert.Empty(p.Units);
        Assert.Same(smmu, Assert.Single(p.Iommus));
        Assert.Equal(0x0905_0000UL, smmu.RegisterBase);
        Assert.True(smmu.Enabled);                                        // arm-smmu-v3 brought it up through CR0
        Assert.Equal("arm-smmu-v3", p.Core.GetDriver(smmu).Name);
        Assert.Equal(IommuVendor.ArmSmmuV3, p.Core.GetVendor(smmu));
        PciDevice parent = p.Core.FindPciDevice(PciAddress.Parse("01:00.0"))!;
        Assert.Same(smmu, parent.Unit);
        Assert.Equal(parent.RequesterId, parent.SourceId);                // RIDs map to StreamIDs one to one
        Assert.True(p.Core.DevHasFeature(parent, IommuDevFeature.Aux));
        Assert.Equal(8, Assert.Single(p.Core.GetMdevTypes(parent)).AvailableInstances);
        Assert.Equal(2, p.Core.FindPciDevice(PciAddress.Parse("03:00.1"))!.Group!.Devices.Count);

        // The default DMA domain is a stage 1 domain: CD 0 of its CD table; an unmapped IOVA is F_TRANSLATION.
        IommuDomain dma = p.Core.GetDomainForDevice(parent)!;
        Assert.Equal(PageTableStage.ArmStage1, dma.PageTable!.Format.Stage);
        dma.Map(0x1000, 0x8000_0000, 0x1000, DmaProtection.Read);
        Assert.Equal(0x8000_0010UL, parent.Translate(null, 0x1010, DmaAccess.Read).Hpa);
        Assert.Equal(SmmuEventType.Translation, Smmu.EventOf(parent.Translate(null, 0x2010, DmaAccess.Read)));
        Assert.Equal(SmmuEventType.Permission, Smmu.EventOf(parent.Translate(null, 0x1010, DmaAccess.Write)));
        Assert.Equal(Errno.ENOENT, Assert.Throws<IommuException>(() => ModelledPlatform.CreateEmbedded("riscv-demo")).Code);
    }

    /// <summary>An Arm machine from its IORT and lspci: each function behind the SMMU its root complex maps it to, at the
    /// StreamID the mapping gives (bus 1 goes to SMMU B at 0x8000, by hand from the table), translated with it.</summary>
    [Fact]
    public void FromIort_PutsFunctionsBehindTheirSmmusAtTheirStreamIds()
    {
        byte[] table = PlatformTestData.Bytes("siov-arm-mixed.iort");
        Assert.Equal(IortTableTests.MixedTable(), table); // the data file is the hand-written table
        PciTopology lspci = PciTopology.ParseLspci(File.ReadAllText(Path.Combine(PlatformTestData.DataDirectory, "siov-arm-mixed.lspci.txt")));
        using ModelledPlatform p = ModelledPlatform.FromIort(IortTable.Parse(table), lspci);
        Assert.Equal([0x2b40_0000UL, 0x2b60_0000UL], p.Smmus.Select(s => s.RegisterBase));
        PciDevice nic = p.Core.FindPciDevice(PciAddress.Parse("00:01.0"))!;
        PciDevice accel = p.Core.FindPciDevice(PciAddress.Parse("01:00.0"))!;
        Assert.Same(p.Smmus[0], nic.Unit);
        Assert.Equal((ushort)0x0008, nic.SourceId);                        // bus 0 on SMMU A, StreamID = RID
        Assert.Same(p.Smmus[1], accel.Unit);
        Assert.Equal((ushort)0x8000, accel.SourceId);                      // RID 0x100 - 0x100 + 0x8000 on SMMU B
        Assert.Equal((20, true, true), (accel.Capabilities.PasidWidth, accel.Capabilities.Ats, accel.Capabilities.Pri));
        Assert.NotSame(nic.Group, accel.Group);

        IommuDomain domain = p.Core.GetDomainForDevice(accel)!;
        domain.Map(0x4000, 0x9_0000_0000, 0x1000, DmaProtection.ReadWrite);
        Assert.Equal(0x9_0000_0010UL, accel.Translate(null, 0x4010, DmaAccess.Read).Hpa);
        Assert.Equal(0x9_0000_0010UL, p.Translate(new DmaRequest(0x0100, null, 0x4010, DmaAccess.Read)).Hpa); // routed by RID
        // Tagged with the bare requester id, SMMU B has no STE for it (its level-1 descriptor is invalid).
        Assert.Equal(SmmuEventType.BadStreamId, Smmu.EventOf(p.Smmus[1].Translate(new DmaRequest(0x0100, null, 0x4010, DmaAccess.Read))));

        using ModelledPlatform bare = ModelledPlatform.FromIort(IortTable.Parse(table));
        Assert.Equal(2, bare.Smmus.Count);
        Assert.Empty(bare.Core.PciDevices);
    }

    [R820LspciFact]
    public void R820_UnitsDevicesGroupsAndRmrrIdentityMappings()
    {
        PlatformDescription d = PlatformDescription.Load(PlatformTestData.Bytes("dell-poweredge-r820.dmar"), null, PlatformTestData.R820LspciText());
        using ModelledPlatform p = ModelledPlatform.FromDescription(d);
        Assert.Equal(4, p.Units.Count);
        Assert.All(p.Units, u => Assert.False(u.IsScalableMode)); // no boot log: the legacy default profile

        PciDevice nic = p.Core.FindPciDevice(PciAddress.Parse("40:05.0"))!;
        Assert.Equal(0xCF00_0000UL, nic.Unit.RegisterBase);
        Assert.Equal(0xDF10_0000UL, p.Core.FindPciDevice(PciAddress.Parse("00:1f.2"))!.Unit.RegisterBase);

        // RMRR: 00:1a.0's ranges are identity-mapped, read/write, in its default domain (from the .dsl by hand).
        PciDevice usb = p.Core.FindPciDevice(PciAddress.Parse("00:1a.0"))!;
        Assert.Equal(0xBF45_8123UL, usb.Translate(null, 0xBF45_8123, DmaAccess.Write).Hpa);
        Assert.Equal(0xBF46_FFFFUL, usb.Translate(null, 0xBF46_FFFF, DmaAccess.Read).Hpa);
        Assert.Equal(0xBF45_0000UL, usb.Translate(null, 0xBF45_0000, DmaAccess.Read).Hpa);
        Assert.False(usb.Translate(null, 0xBF47_0000, DmaAccess.Read).IsSuccess);
        Assert.False(nic.Translate(null, 0xBF45_8000, DmaAccess.Read).IsSuccess); // another device's RMRR is not its

        // Groups as the description computed them, for every device a unit translates.
        foreach (PlatformDevice pd in d.Devices.Where(x => x.UnitRegisterBase.HasValue))
        {
            PciDevice live = p.Core.FindPciDevice(pd.Address)!;
            string[] expected = d.Groups[pd.GroupId].Devices.Select(a => a.ToString()).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(expected, live.Group!.Devices.Select(x => x.Name).Order(StringComparer.Ordinal).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(PlatformTestData.DmarTables), MemberType = typeof(PlatformTestData))]
    public void EveryRealDmar_BuildsAPlatformFromItsScopes(string name)
    {
        PlatformDescription d = PlatformDescription.Load(PlatformTestData.Bytes(name), null);
        using ModelledPlatform p = ModelledPlatform.FromDescription(d);
        Assert.Equal(d.Units.Length, p.Units.Count);
        Assert.Equal(d.Devices.Count(x => x.UnitRegisterBase.HasValue), p.Core.PciDevices.Count);
    }

    [Fact]
    public void IvrsOnly_IsEnodev_AndBootLogRegistersSelectScalableMode()
    {
        PlatformDescription amd = PlatformDescription.Load(null, PlatformTestData.Bytes("supermicro-h8dgu.ivrs"));
        Assert.Equal(Errno.ENODEV, Assert.Throws<IommuException>(() => ModelledPlatform.FromDescription(amd)).Code);

        // The asrock table's units with scalable-mode registers from a boot log: scalable mode, PASIDs.
        PlatformDescription plain = PlatformDescription.Load(PlatformTestData.Bytes("asrock-h170-pro4s.dmar"), null);
        ulong cap = UnitPresets.ScalableCapability.Encode(), ecap = UnitPresets.ScalableExtendedCapability.Encode();
        string log = "DMAR: Host address width 39\n" + string.Concat(plain.Units.Select((u, i) =>
            $"DMAR: dmar{i}: reg_base_addr {u.RegisterBase:x} ver 6:0 cap {cap:x} ecap {ecap:x}\n"));
        PlatformDescription d = PlatformDescription.Load(PlatformTestData.Bytes("asrock-h170-pro4s.dmar"), null, null, log);
        using ModelledPlatform p = ModelledPlatform.FromDescription(d);
        Assert.All(p.Units, u => Assert.True(u.IsScalableMode));
        Assert.All(p.Units, u => Assert.Equal(20, u.PasidWidth));
    }
}
