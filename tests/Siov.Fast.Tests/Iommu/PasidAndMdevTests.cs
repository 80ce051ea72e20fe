using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.Vfio;

namespace Siov.Fast.Tests.Iommu;

/// <summary>The global PASID space, iommu_attach_device_pasid, mdev types and VFIO containers' map/unmap, on both vendors
/// unless a test says otherwise.</summary>
public class PasidAndMdevTests
{
    private static readonly MdevTypeSpec Wq = new("idxd-wq", "wq", "a work queue", "vfio-pci", 2, IommuBacked: true);
    private static readonly MdevTypeSpec VendorDefined = new("nvidia-63", "GRID", "vendor-isolated", "vfio-pci", 1, IommuBacked: false);

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void AuxPasids_AreAllocatedLowestFirst_ExhaustWithEnospc_AndAreFreedOnLastDetach(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor, options: new IommuCoreOptions { PasidBits = 2 }); // PASIDs 1-3
        PciDevice dev = f.Pci("0000:01:00.0");
        f.Core.DevEnableFeature(dev, IommuDevFeature.Aux);
        IommuDomain[] domains = Enumerable.Range(0, 4).Select(_ => f.Core.DomainAlloc(IommuDomainType.Unmanaged)).ToArray();
        for (int i = 0; i < 3; i++)
        {
            f.Core.AuxAttachDevice(domains[i], dev);
            Assert.Equal((uint)(i + 1), f.Core.AuxGetPasid(domains[i], dev));
        }
        var e = Assert.Throws<IommuException>(() => f.Core.AuxAttachDevice(domains[3], dev));
        Assert.Equal(Errno.ENOSPC, e.Code);
        Assert.False(domains[3].IsAux);
        Assert.Equal(Errno.ENOENT, Assert.Throws<IommuException>(() => f.Core.AuxGetPasid(domains[3], dev)).Code);

        // A second sub-device sharing domain 1 keeps its PASID until both have detached.
        f.Core.AuxAttachDevice(domains[1], dev);
        f.Core.AuxDetachDevice(domains[1], dev);
        Assert.Equal(2u, f.Core.AuxGetPasid(domains[1], dev));
        f.Core.AuxDetachDevice(domains[1], dev);
        Assert.Equal(Errno.ENOENT, Assert.Throws<IommuException>(() => f.Core.AuxDetachDevice(domains[1], dev)).Code);
        f.Core.AuxAttachDevice(domains[3], dev);
        Assert.Equal(2u, f.Core.AuxGetPasid(domains[3], dev)); // the freed PASID is reused
    }

    /// <summary>VT-d only: one aux domain on two devices of different primary domains, which seed 004's single-parent rule
    /// refuses on SMMUv3.</summary>
    [Fact]
    public void AuxPasid_IsBoundedByTheDeviceWidth()
    {
        using var f = new CoreFixture();
        PciDevice narrow = f.Core.AddPciDevice(PciAddress.Parse("0000:02:00.0"), f.Unit, new PciDeviceCapabilities { PasidWidth = 1 }); // PASID 1 only
        PciDevice wide = f.Pci("0000:03:00.0");
        f.Core.DevEnableFeature(narrow, IommuDevFeature.Aux);
        f.Core.DevEnableFeature(wide, IommuDevFeature.Aux);
        IommuDomain first = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        IommuDomain second = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        f.Core.AuxAttachDevice(first, wide);   // PASID 1
        f.Core.AuxAttachDevice(second, wide);  // PASID 2
        Assert.Equal(Errno.ERANGE, Assert.Throws<IommuException>(() => f.Core.AuxAttachDevice(second, narrow)).Code);
        f.Core.AuxAttachDevice(first, narrow);
        Assert.Equal(1u, f.Core.AuxGetPasid(first, narrow));
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void AttachDevicePasid_IsGroupWide_AndRefusesTakenOrUnfitPasids(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice fn0 = f.Pci("0000:04:00.0");
        PciDevice fn1 = f.Pci("0000:04:00.1", group: fn0.Group);
        PciDevice aux = f.Pci("0000:05:00.0");
        f.Core.DevEnableFeature(aux, IommuDevFeature.Aux);
        IommuDomain sva = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        sva.Map(0, 0x7700_0000, 0x1000, DmaProtection.Read);

        f.Core.AttachDevicePasid(sva, fn0, 9);
        Assert.Equal(0x7700_0004UL, fn1.Translate(9, 4, DmaAccess.Read).Hpa); // the whole group
        Assert.Same(sva, f.Core.GetDomainForDevicePasid(fn1, 9));
        IommuDomain other = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => f.Core.AttachDevicePasid(other, fn1, 9)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => f.Core.AttachDevicePasid(other, fn1, 0)).Code);
        Assert.Equal(Errno.ERANGE, Assert.Throws<IommuException>(() => f.Core.AttachDevicePasid(other, fn1, 1u << 20)).Code);

        // Aux domains never get a PASID reserved by a PASID attachment, and the reverse is EBUSY.
        for (uint p = 1; p < 9; p++)
            f.Core.AuxAttachDevice(f.Core.DomainAlloc(IommuDomainType.Unmanaged), aux);
        IommuDomain tenth = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        f.Core.AuxAttachDevice(tenth, aux);
        Assert.Equal(10u, f.Core.AuxGetPasid(tenth, aux));
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => f.Core.AttachDevicePasid(other, fn0, 10)).Code);

        // A device without PASID capability in the group makes every PASID unfit; nothing is half-done.
        PciDevice plain = f.Pci("0000:06:00.0", siov: false);
        PciDevice capable = f.Pci("0000:06:00.1", group: plain.Group);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => f.Core.AttachDevicePasid(other, capable, 11)).Code);
        Assert.False(capable.Translate(11, 0, DmaAccess.Read).IsSuccess);
        if (vendor == IommuVendor.IntelVtd)
            Assert.Null(((Siov.Fast.Drivers.IntelVtd.IntelIommu)f.Core.GetDriver(f.Unit)).GetPasidDomain(capable.RequesterId, 11));

        f.Core.DetachDevicePasid(sva, fn1, 9);
        Assert.Equal(f.Fault(FaultReason.SmPasidEntryNotPresent, SmmuEventType.BadCd), fn0.Translate(9, 4, DmaAccess.Read).Fault);
        Assert.Equal(Errno.ENOENT, Assert.Throws<IommuException>(() => f.Core.DetachDevicePasid(sva, fn1, 9)).Code);
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void MdevTypes_CountInstances_AndRemoveRestoresThem(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice parent = f.Pci("0000:01:00.0");
        f.Core.MdevRegisterParent(parent, [Wq, VendorDefined]);
        Assert.Equal(Errno.EEXIST, Assert.Throws<IommuException>(() => f.Core.MdevRegisterParent(parent, [Wq])).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => f.Core.MdevRegisterParent(f.Pci("0000:02:00.0"), [Wq with { Id = "bad id" }])).Code);

        Guid a = Guid.NewGuid(), b = Guid.NewGuid(), c = Guid.NewGuid();
        MediatedDevice ma = f.Core.MdevCreate(parent, "idxd-wq", a);
        Assert.Equal(1, f.Core.GetMdevTypes(parent)[0].AvailableInstances);
        Assert.Equal(Errno.EEXIST, Assert.Throws<IommuException>(() => f.Core.MdevCreate(parent, "idxd-wq", a)).Code);
        f.Core.MdevCreate(parent, "idxd-wq", b);
        Assert.Equal(Errno.ENOSPC, Assert.Throws<IommuException>(() => f.Core.MdevCreate(parent, "idxd-wq", c)).Code);
        Assert.Equal(Errno.ENOENT, Assert.Throws<IommuException>(() => f.Core.MdevCreate(parent, "idxd-nope", c)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => f.Core.MdevCreate(parent, "nvidia-63", Guid.Empty)).Code);
        Assert.NotSame(ma.Group, f.Core.FindMdev(b)!.Group); // a group each
        Assert.Equal("iommu", ma.Isolation);

        MediatedDevice vgpu = f.Core.MdevCreate(parent, "nvidia-63", c);
        Assert.Null(vgpu.IommuDevice);
        Assert.Equal("vendor-defined (no IOMMU protection)", vgpu.Isolation);

        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => f.Core.MdevUnregisterParent(parent)).Code);
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => f.Core.RemovePciDevice(parent)).Code);
        f.Core.MdevRemove(a);
        Assert.Equal(1, f.Core.GetMdevTypes(parent)[0].AvailableInstances);
        Assert.Null(f.Core.FindGroup(ma.Group?.Id ?? -1));
        Assert.Equal(Errno.ENOENT, Assert.Throws<IommuException>(() => f.Core.MdevRemove(a)).Code);
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void Container_MdevWithoutAux_IsAttachedToItsIommuDeviceWhole_AndBusyWhileAttached(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice parent = f.Pci("0000:01:00.0", siov: false);
        f.Core.MdevRegisterParent(parent, [Wq]);
        MediatedDevice mdev = f.Core.MdevCreate(parent, "idxd-wq", Guid.NewGuid());
        using var vm = new VfioContainer(f.Core);
        vm.AttachGroup(mdev.Group!);
        Assert.Equal(VfioAttachKind.IommuDevice, vm.GetAttachment(mdev.Group!).Kind);
        vm.MapDma(0, 0x2_0000_0000, 0x1000, DmaProtection.ReadWrite);
        Assert.Equal(0x2_0000_0010UL, parent.Translate(null, 0x10, DmaAccess.Read).Hpa); // the whole RID

        using var other = new VfioContainer(f.Core);
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => other.AttachGroup(mdev.Group!)).Code);
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => f.Core.MdevRemove(mdev.Uuid)).Code);
        vm.DetachGroup(mdev.Group!);
        Assert.Empty(vm.Domains);
        Assert.Empty(vm.DmaMappings); // the last group took the mappings with it
        Assert.Same(f.Core.GetDomainForDevice(parent), parent.Group!.DefaultDomain);
        f.Core.MdevRemove(mdev.Uuid);
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void Container_ExternalMdev_HasNoDomain_OnlyPinnedRanges(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice gpu = f.Pci("0000:01:00.0");
        f.Core.MdevRegisterParent(gpu, [VendorDefined]);
        MediatedDevice vgpu = f.Core.MdevCreate(gpu, "nvidia-63", Guid.NewGuid());
        using var vm = new VfioContainer(f.Core);
        vm.AttachGroup(vgpu.Group!);
        vm.MapDma(0x10_0000, 0x3_0000_0000, 0x2000, DmaProtection.ReadWrite);
        Assert.Equal((VfioAttachKind.External, (IommuDomain?)null), vm.GetAttachment(vgpu.Group!));
        Assert.Empty(vm.Domains);
        Assert.Equal([new VfioDmaMapping(0x10_0000, 0x3_0000_0000, 0x2000, DmaProtection.ReadWrite)], vm.PinnedRanges);
        Assert.Null(f.Core.GetDomainForDevice(vgpu));
        // Nothing was programmed for the vGPU: the parent's own domain still maps nothing there.
        Assert.False(gpu.Translate(null, 0x10_0000, DmaAccess.Read).IsSuccess);
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void Container_MapUnmap_Type1v2Rules(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice dev = f.Pci("0000:01:00.0", siov: false);
        using var vm = new VfioContainer(f.Core);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => vm.MapDma(0, 0, 0x1000, DmaProtection.Read)).Code); // no group yet
        vm.AttachGroup(dev.Group!);
        vm.MapDma(0x1000, 0x8000_1000, 0x2000, DmaProtection.ReadWrite);
        vm.MapDma(0x4000, 0x8000_4000, 0x1000, DmaProtection.Read);
        Assert.Equal(Errno.EEXIST, Assert.Throws<IommuException>(() => vm.MapDma(0x2000, 0x9000_0000, 0x1000, DmaProtection.Read)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => vm.MapDma(0x8000, 0x9000_0000, 0x800, DmaProtection.Read)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => vm.MapDma(0x8000, 0x9000_0000, 0x1000, DmaProtection.None)).Code);
        // A range that cuts a mapping in two is refused, and nothing is unmapped.
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => vm.UnmapDma(0x2000, 0x3000)).Code);
        Assert.Equal(0x8000_2000UL, dev.Translate(null, 0x2000, DmaAccess.Read).Hpa);
        Assert.Equal(0UL, vm.UnmapDma(0x10_0000, 0x1000)); // a hole
        Assert.Equal(0x3000UL, vm.UnmapDma(0, 0x10_0000));
        Assert.Empty(vm.DmaMappings);
        Assert.Equal(f.Fault(FaultReason.SmSecondLevelNotPresent, SmmuEventType.Translation), dev.Translate(null, 0x4000, DmaAccess.Read).Fault);
    }
}
