using Siov.Fast.Hardware;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.Iommu;

/// <summary>Groups, default domains, attach/detach of devices and groups, domain types, and bad input; on both vendors
/// where the rules are the kernel core's (intel-iommu over VT-d, arm-smmu-v3 over SMMUv3).</summary>
public class GroupAndDomainTests
{
    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void NewDevice_GetsOwnGroupAndDefaultDmaDomain_ProgrammedAtRidPasid(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice dev = f.Pci("0000:00:02.0");
        IommuGroup group = dev.Group!;
        Assert.Same(dev, Assert.Single(group.Devices));
        Assert.Equal(IommuDomainType.Dma, group.DefaultDomain!.Type);
        Assert.Same(group.DefaultDomain, f.Core.GetDomainForDevice(dev));
        ushort did = group.DefaultDomain.GetDomainId(f.Iommu)!.Value;
        Assert.NotEqual(0, did); // DID (ASID) 0 is reserved
        if (vendor == IommuVendor.IntelVtd)
            Assert.Equal(did, ((Siov.Fast.Drivers.IntelVtd.IntelIommu)f.Core.GetDriver(f.Unit)).GetPasidDomain(dev.RequesterId, 0)); // RID_PASID entry points at it
        Assert.Equal([$"/sys/kernel/iommu_groups/{group.Id}/devices/0000:00:02.0"], group.SysfsPaths());
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void IdentityDefault_PassesThrough_AndFallsBackToDmaWithoutPassThroughSupport(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor, options: new IommuCoreOptions { DefaultDomainType = IommuDomainType.Identity });
        PciDevice dev = f.Pci("0000:00:02.0");
        Assert.Equal(IommuDomainType.Identity, dev.Group!.DefaultDomain!.Type);
        TranslationResult r = dev.Translate(null, 0x1234_5678, DmaAccess.Write);
        Assert.Equal(0x1234_5678UL, r.Hpa);
        Assert.Equal(0x1234_5678UL, dev.Group.DefaultDomain.IovaToPhys(0x1234_5678));
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => dev.Group.DefaultDomain.Map(0, 0, 0x1000, DmaProtection.Read)).Code);
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void MultiDeviceGroup_SharesOneDomain_AttachDeviceRefused_AttachGroupSwitchesAll(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice fn0 = f.Pci("0000:05:00.0");
        PciDevice fn1 = f.Pci("0000:05:00.1", group: fn0.Group);
        IommuGroup group = fn0.Group!;
        Assert.Equal(2, group.Devices.Count);
        Assert.Same(f.Core.GetDomainForDevice(fn0), f.Core.GetDomainForDevice(fn1));

        IommuDomain vm = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        vm.Map(0x1000, 0x9000_0000, 0x1000, DmaProtection.ReadWrite);
        var e = Assert.Throws<IommuException>(() => f.Core.AttachDevice(vm, fn0));
        Assert.Equal(Errno.EINVAL, e.Code);
        Assert.Contains("shares", e.Message, StringComparison.Ordinal);

        f.Core.AttachGroup(vm, group);
        Assert.Equal(0x9000_0008UL, fn0.Translate(null, 0x1008, DmaAccess.Read).Hpa);
        Assert.Equal(0x9000_0008UL, fn1.Translate(null, 0x1008, DmaAccess.Read).Hpa);
        Assert.Same(vm, f.Core.GetDomainForDevice(fn1));
        // A second non-default domain while one is attached: EBUSY.
        IommuDomain other = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => f.Core.AttachGroup(other, group)).Code);
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => f.Core.DomainFree(vm)).Code);

        f.Core.DetachGroup(vm, group);
        Assert.Same(group.DefaultDomain, f.Core.GetDomainForDevice(fn0));
        Assert.Equal(f.Fault(FaultReason.SmSecondLevelNotPresent, SmmuEventType.Translation), fn1.Translate(null, 0x1008, DmaAccess.Read).Fault);
        Assert.Null(vm.GetDomainId(f.Iommu)); // its DID was released
        f.Core.DomainFree(vm);
        Assert.Equal(Errno.ENOENT, Assert.Throws<IommuException>(() => f.Core.AttachGroup(vm, group)).Code);
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void BlockedDomain_FaultsEveryRequest_AndDetachRestoresDefault(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice dev = f.Pci("0000:00:04.0");
        f.Core.GetDomainForDevice(dev)!.Map(0, 0x5000_0000, 0x1000, DmaProtection.Read);
        IommuDomain blocked = f.Core.DomainAlloc(IommuDomainType.Blocked);
        f.Core.AttachDevice(blocked, dev);
        Assert.Equal(f.Fault(FaultReason.SmPasidEntryNotPresent, CoreFixture.Abort), dev.Translate(null, 0, DmaAccess.Read).Fault);
        f.Core.DetachDevice(blocked, dev);
        Assert.Equal(0x5000_0000UL, dev.Translate(null, 0, DmaAccess.Read).Hpa);
    }

    [Fact]
    public void FailedGroupAttach_RollsBackDevicesAlreadySwitched()
    {
        using var f = new CoreFixture();
        RemappingUnit legacy = f.AddLegacyUnit(0xFED9_1000);
        // A group spanning a scalable and a legacy unit (as a bridge can make one); the domain's
        // 4-level table with superpages suits the first unit only.
        PciDevice first = f.Pci("0000:07:00.0");
        PciDevice second = f.Pci("0000:07:00.1", siov: false, group: first.Group, unit: legacy);
        IommuDomain before = f.Core.GetDomainForDevice(first)!;
        before.Map(0, 0x3000_0000, 0x1000, DmaProtection.ReadWrite);
        Assert.Equal(0x3000_0000UL, second.Translate(null, 0, DmaAccess.Read).Hpa);

        IommuDomain wide = f.Core.DomainAlloc(IommuDomainType.Unmanaged, SecondLevelFormat.Default);
        wide.Map(0, 0x6000_0000, 0x1000, DmaProtection.ReadWrite);
        var e = Assert.Throws<IommuException>(() => f.Core.AttachGroup(wide, first.Group!));
        Assert.Equal(Errno.EINVAL, e.Code);

        // Both devices are where they were: the default domain, the same DIDs, the old translation.
        Assert.Same(before, f.Core.GetDomainForDevice(first));
        Assert.Equal(0x3000_0000UL, first.Translate(null, 0, DmaAccess.Read).Hpa);
        Assert.Equal(0x3000_0000UL, second.Translate(null, 0, DmaAccess.Read).Hpa);
        Assert.Null(wide.GetDomainId(f.Unit));
        Assert.Empty(wide.AttachedGroups);
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void GroupMembership_AddRemove_AndBadInput(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice a = f.Pci("0000:08:00.0");
        Assert.Equal(Errno.EEXIST, Assert.Throws<IommuException>(() => f.Pci("0000:08:00.0")).Code);
        IommuGroup g = f.Core.AllocGroup();
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => f.Core.GroupAddDevice(g, a)).Code);

        IommuGroup old = a.Group!;
        f.Core.GroupRemoveDevice(a);
        Assert.Null(a.Group);
        Assert.Null(f.Core.FindGroup(old.Id)); // the empty group is freed with its default domain
        Assert.False(old.DefaultDomain?.IsAlive ?? false);
        Assert.Equal(f.Fault(FaultReason.SmPasidEntryNotPresent, CoreFixture.Abort), a.Translate(null, 0, DmaAccess.Read).Fault);
        f.Core.GroupAddDevice(g, a);
        Assert.Same(g.DefaultDomain, f.Core.GetDomainForDevice(a));

        Assert.Equal(Errno.ENOENT, Assert.Throws<IommuException>(() => f.Core.GroupAddDevice(old, a)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => f.Core.DomainAlloc((IommuDomainType)9)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => f.Core.AddPciDevice(PciAddress.Parse("0001:00:01.0"), f.Iommu)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => PciAddress.Parse("00:20.0")).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => f.Core.DetachDevice(f.Core.GetDomainForDevice(a)!, a)).Code);
        f.Core.RemovePciDevice(a);
        Assert.Null(f.Core.FindPciDevice(a.Address));
        Assert.Equal(Errno.ENODEV, Assert.Throws<IommuException>(() => f.Core.AttachDevice(f.Core.DomainAlloc(IommuDomainType.Unmanaged), a)).Code);
    }

    [Fact]
    public void DomainIds_ArePerUnit_AndExhaustionIsEnospc()
    {
        using var f = new CoreFixture();
        // A unit with ND = 0: 16 domain ids, of which 0 is reserved.
        CapabilityRegister small = UnitPresets.ScalableCapability with { NumberOfDomainsField = 0 };
        var unit = new RemappingUnit(f.Memory, small, UnitPresets.ScalableExtendedCapability, new RemappingUnitOptions { RegisterBase = 0xFED9_2000 });
        try
        {
            f.Core.AddUnit(unit);
            for (int i = 0; i < 15; i++)
                f.Core.AddPciDevice(new PciAddress(0, 0x10, i, 0), unit);
            var e = Assert.Throws<IommuException>(() => f.Core.AddPciDevice(new PciAddress(0, 0x10, 15, 0), unit));
            Assert.Equal(Errno.ENOSPC, e.Code);
            Assert.Null(f.Core.FindPciDevice(new PciAddress(0, 0x10, 15, 0)));
            Assert.Equal(15, f.Core.Groups.Count(g => g.Devices.Any(d => ((PciDevice)d).Unit == unit)));
        }
        finally
        {
            f.Core.Dispose();
            unit.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void Unmap_InvalidatesEveryUnitTheDomainIsAttachedOn(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        IIommuHardware second = f.AddIommu(0xFED9_3000);
        PciDevice a = f.Pci("0000:01:00.0");
        PciDevice b = f.Pci("0000:81:00.0", unit: second);
        IommuDomain domain = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        f.Core.AttachDevice(domain, a);
        f.Core.AttachDevice(domain, b);
        domain.Map(0x20_0000, 0x4000_0000, 0x20_0000, DmaProtection.ReadWrite); // one 2 MiB leaf
        Assert.Equal(0x4000_1000UL, a.Translate(null, 0x20_1000, DmaAccess.Read).Hpa); // fills both IOTLBs
        Assert.Equal(0x4000_1000UL, b.Translate(null, 0x20_1000, DmaAccess.Read).Hpa);
        Assert.Equal(0x20_0000UL, domain.Unmap(0x20_0000, 0x1000)); // the superpage goes whole
        FaultReason unmapped = f.Fault(FaultReason.SmSecondLevelNotPresent, SmmuEventType.Translation);
        Assert.Equal(unmapped, a.Translate(null, 0x20_1000, DmaAccess.Read).Fault);
        Assert.Equal(unmapped, b.Translate(null, 0x3F_F000, DmaAccess.Read).Fault);
    }
}
