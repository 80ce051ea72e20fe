using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.Vfio;

namespace Siov.Fast.Tests.Iommu;

/// <summary>The seed texts' scenarios, end to end: object-model calls, then what translation returns.</summary>
public class SeedScenarioTests
{
    private const ulong Vm1Memory = 0x40_0000_0000;   // where VM1's guest memory sits in the host
    private const ulong Vm2Memory = 0x50_0000_0000;
    private const ulong GuestRam = 64UL << 20;

    private static readonly MdevTypeSpec WorkQueue = new("idxd-wq", "wq", "a dedicated work queue", "vfio-pci", 8, IommuBacked: true);

    /// <summary>
    /// Seed 002: a parent with three work queues. WQ1 is the parent driver's own (DMA domain, RID_PASID);
    /// WQ2 is an mdev of VM1 (aux domain, PASID p2); WQ3 an mdev of VM2 (aux domain, PASID p3); VM1 also
    /// owns a whole physical device whose primary domain is VM1's domain.
    /// </summary>
    [Fact]
    public void Seed002_ThreeWorkQueues_TwoVms_IsolatedByPasid()
    {
        using var f = new CoreFixture();
        PciDevice parent = f.Pci("0000:01:00.0");
        PciDevice nic = f.Pci("0000:02:00.0", siov: false);
        f.Core.DevEnableFeature(parent, IommuDevFeature.Aux);
        f.Core.MdevRegisterParent(parent, [WorkQueue]);

        // WQ1: the parent driver maps a buffer in its default DMA domain.
        IommuDomain dma = f.Core.GetDomainForDevice(parent)!;
        Assert.Equal(IommuDomainType.Dma, dma.Type);
        dma.Map(0xF000_0000, 0x7000_0000, 0x1000, DmaProtection.ReadWrite);

        MediatedDevice wq2 = f.Core.MdevCreate(parent, "idxd-wq", Guid.Parse("11111111-0000-0000-0000-000000000002"));
        MediatedDevice wq3 = f.Core.MdevCreate(parent, "idxd-wq", Guid.Parse("11111111-0000-0000-0000-000000000003"));
        using var vm1 = new VfioContainer(f.Core);
        using var vm2 = new VfioContainer(f.Core);
        vm1.AttachGroup(nic.Group!);
        vm1.AttachGroup(wq2.Group!);
        vm2.AttachGroup(wq3.Group!);
        vm1.MapDma(0, Vm1Memory, GuestRam, DmaProtection.ReadWrite);
        vm2.MapDma(0, Vm2Memory, GuestRam, DmaProtection.ReadWrite);

        // VM1's pdev and mdev share one domain: primary for the NIC, aux for the parent (VT-d allows both).
        IommuDomain vm1Domain = Assert.Single(vm1.Domains);
        Assert.Same(vm1Domain, f.Core.GetDomainForDevice(nic));
        Assert.Same(vm1Domain, f.Core.GetDomainForDevice(wq2));
        Assert.Equal(VfioAttachKind.Aux, vm1.GetAttachment(wq2.Group!).Kind);
        IommuDomain vm2Domain = Assert.Single(vm2.Domains);
        uint p2 = f.Core.AuxGetPasid(vm1Domain, parent);
        uint p3 = f.Core.AuxGetPasid(vm2Domain, parent);
        Assert.NotEqual(0u, p2);
        Assert.NotEqual(0u, p3);
        Assert.NotEqual(p2, p3);

        // DMA tagged p2 reaches VM1's memory only, p3 VM2's only, the physical device VM1's.
        Assert.Equal(Vm1Memory + 0x12345, parent.Translate(p2, 0x12345, DmaAccess.Write).Hpa);
        Assert.Equal(Vm2Memory + 0x12345, parent.Translate(p3, 0x12345, DmaAccess.Write).Hpa);
        Assert.Equal(Vm1Memory + 0x12345, nic.Translate(null, 0x12345, DmaAccess.Read).Hpa);
        // WQ1's requests without PASID still use the parent's DMA domain, which maps nothing of the VMs.
        Assert.Equal(0x7000_0010UL, parent.Translate(null, 0xF000_0010, DmaAccess.Read).Hpa);
        Assert.Equal(FaultReason.SmSecondLevelNotPresent, parent.Translate(null, 0x12345, DmaAccess.Read).Fault);

        // An unknown PASID, an unmapped IOVA, a detached mdev: each faults with its reason.
        uint unknown = Math.Max(p2, p3) + 1;
        Assert.Equal(FaultReason.SmPasidEntryNotPresent, parent.Translate(unknown, 0x1000, DmaAccess.Read).Fault);
        Assert.Equal(FaultReason.SmSecondLevelNotPresent, parent.Translate(p3, GuestRam, DmaAccess.Read).Fault);
        vm1.DetachGroup(wq2.Group!);
        Assert.Equal(FaultReason.SmPasidEntryNotPresent, parent.Translate(p2, 0x12345, DmaAccess.Write).Fault);
        Assert.Equal(Vm1Memory + 0x12345, nic.Translate(null, 0x12345, DmaAccess.Read).Hpa);
        Assert.Equal(Vm2Memory + 0x12345, parent.Translate(p3, 0x12345, DmaAccess.Write).Hpa);

        // The fault log holds them as Linux prints them.
        string[] lines = f.Unit.Faults.ReadAll().Select(r => r.ToLinuxString()).ToArray();
        Assert.Contains($"DMAR: [DMA Read PASID 0x{unknown:x}] Request device [01:00.0] fault addr 0x1000 [fault reason 0x59] SM: Present bit in PASID Table Entry is clear", lines);
        Assert.Contains($"DMAR: [DMA Write PASID 0x{p2:x}] Request device [01:00.0] fault addr 0x12000 [fault reason 0x59] SM: Present bit in PASID Table Entry is clear", lines);
    }

    /// <summary>Seed 000's flow: group for the mdev, aux domain attached to the group, and
    /// <c>GetDomainForDevice(mdev)</c> works (the problem the series fixes), then the driver's lookup.</summary>
    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void Seed000_AuxAttachGroup_GetDomainForMdev_AndPasidLookup(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice parent = f.Pci("0000:6a:01.0");
        f.Core.DevEnableFeature(parent, IommuDevFeature.Aux);
        f.Core.MdevRegisterParent(parent, [WorkQueue]);
        MediatedDevice mdev = f.Core.MdevCreate(parent, "idxd-wq", Guid.NewGuid());

        // Steps 1-2: the mdev is alone in a group of its own.
        IommuGroup group = mdev.Group!;
        Assert.Same(mdev, Assert.Single(group.Devices));
        Assert.Null(f.Core.GetDomainForDevice(mdev));

        // Steps 3-4: allocate an aux domain and attach it to the group through the iommu_device.
        IommuDomain domain = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        domain.Map(0x10_0000, 0x2_0000_0000, 0x20_0000, DmaProtection.Read);
        Assert.Same(parent, mdev.IommuDevice);
        f.Core.AuxAttachGroup(domain, group, mdev.IommuDevice!);

        // The driver's code path from the seed: domain for the mdev, then its PASID on the iommu_device.
        IommuDomain found = f.Core.GetDomainForDevice(mdev) ?? throw new InvalidOperationException("ENODEV");
        Assert.Same(domain, found);
        Assert.True(found.IsAux);
        Assert.Same(domain, f.Core.AuxGetDomainForDevice(mdev));
        uint pasid = f.Core.AuxGetPasid(found, mdev.IommuDevice!);
        Assert.True(pasid > 0);
        Assert.Equal(0x2_0000_0234UL, parent.Translate(pasid, 0x10_0234, DmaAccess.Read).Hpa);
        // The parent's primary domain is not the aux domain.
        Assert.NotSame(domain, f.Core.GetDomainForDevice(parent));
        Assert.Null(f.Core.AuxGetDomainForDevice(parent));

        f.Core.AuxDetachGroup(domain, group, parent);
        Assert.Null(f.Core.GetDomainForDevice(mdev));
        Assert.Equal(vendor == IommuVendor.ArmSmmuV3, domain.IsAux); // seed 004: on SMMUv3 the aux mode sticks
        Assert.Equal(0, f.Core.AllocatedPasids); // freed on last detach
        Assert.Equal(f.Fault(FaultReason.SmPasidEntryNotPresent, SmmuEventType.BadCd), parent.Translate(pasid, 0x10_0234, DmaAccess.Read).Fault);
    }

    /// <summary>Seed 000, patch 1: every aux call checks IOMMU_DEV_FEAT_AUX.</summary>
    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void Seed000_AuxCallsNeedTheFeatureEnabled(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice parent = f.Pci("0000:01:00.0");
        PciDevice plain = f.Pci("0000:02:00.0", siov: false);
        IommuDomain domain = f.Core.DomainAlloc(IommuDomainType.Unmanaged);

        Assert.True(f.Core.DevHasFeature(parent, IommuDevFeature.Aux));
        Assert.False(f.Core.DevFeatureEnabled(parent, IommuDevFeature.Aux));
        Assert.Equal(Errno.ENODEV, Assert.Throws<IommuException>(() => f.Core.AuxAttachDevice(domain, parent)).Code);
        Assert.False(f.Core.DevHasFeature(plain, IommuDevFeature.Aux));
        Assert.Equal(Errno.ENODEV, Assert.Throws<IommuException>(() => f.Core.DevEnableFeature(plain, IommuDevFeature.Aux)).Code);

        f.Core.DevEnableFeature(parent, IommuDevFeature.Aux);
        f.Core.AuxAttachDevice(domain, parent);
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => f.Core.DevDisableFeature(parent, IommuDevFeature.Aux)).Code);
        f.Core.AuxDetachDevice(domain, parent);
        f.Core.DevDisableFeature(parent, IommuDevFeature.Aux);
        Assert.Equal(Errno.ENODEV, Assert.Throws<IommuException>(() => f.Core.AuxAttachDevice(domain, parent)).Code);
        Assert.Equal(Errno.ENODEV, Assert.Throws<IommuException>(() => f.Core.AuxDetachDevice(domain, parent)).Code);
    }

    /// <summary>Seed 003: a device in normal mode and one in auxiliary mode, the same domain on both at once
    /// (VT-d), and a legacy-mode unit that cannot do auxiliary mode at all.</summary>
    [Fact]
    public void Seed003_SameDomainNormalOnOneDeviceAuxOnAnother()
    {
        using var f = new CoreFixture();
        PciDevice whole = f.Pci("0000:03:00.0");
        PciDevice parent = f.Pci("0000:04:00.0");
        f.Core.DevEnableFeature(parent, IommuDevFeature.Aux);
        IommuDomain domain = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        domain.Map(0, 0x8000_0000, 0x10_0000, DmaProtection.ReadWrite);

        f.Core.AttachDevice(domain, whole);
        f.Core.AuxAttachDevice(domain, parent);
        Assert.Equal(DomainAttachMode.NormalAndAux, domain.Mode);
        uint pasid = f.Core.AuxGetPasid(domain, parent);
        Assert.Equal(0x8000_0040UL, whole.Translate(null, 0x40, DmaAccess.Read).Hpa);
        Assert.Equal(0x8000_0040UL, parent.Translate(pasid, 0x40, DmaAccess.Read).Hpa);
        // One DID on the unit for both entries, and one IOTLB invalidation covers both on unmap.
        Assert.Equal(((Siov.Fast.Drivers.IntelVtd.IntelIommu)f.Core.GetDriver(f.Unit)).GetPasidDomain(whole.RequesterId, 0), ((Siov.Fast.Drivers.IntelVtd.IntelIommu)f.Core.GetDriver(f.Unit)).GetPasidDomain(parent.RequesterId, pasid));
        domain.Unmap(0, 0x1000);
        Assert.False(whole.Translate(null, 0x40, DmaAccess.Read).IsSuccess);
        Assert.False(parent.Translate(pasid, 0x40, DmaAccess.Read).IsSuccess);

        // Normal and aux on the same device is refused.
        f.Core.DevEnableFeature(whole, IommuDevFeature.Aux);
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => f.Core.AuxAttachDevice(domain, whole)).Code);
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => f.Core.AttachDevice(domain, parent)).Code);

        // Legacy-mode unit: no PASID, no aux mode.
        RemappingUnit legacy = f.AddLegacyUnit(0xFED9_1000);
        PciDevice old = f.Pci("0000:05:00.0", unit: legacy);
        Assert.False(f.Core.DevHasFeature(old, IommuDevFeature.Aux));
    }

    /// <summary>Seed 004's SMMUv3 rules: sticky aux/normal mode, a single parent domain, and sharing only
    /// between devices attached to the same parent domain.</summary>
    [Fact]
    public void Seed004_SmmuV3_StickyModeAndSingleParent()
    {
        using var f = new CoreFixture(IommuVendor.ArmSmmuV3);
        PciDevice a = f.Pci("0000:01:00.0");
        PciDevice b = f.Pci("0000:02:00.0");
        PciDevice c = f.Pci("0000:03:00.0");
        foreach (PciDevice d in new[] { a, b, c })
            f.Core.DevEnableFeature(d, IommuDevFeature.Aux);

        // b shares a's primary domain (a group-level attach of b's group to a new parent domain).
        IommuDomain parentDomain = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        f.Core.AttachDevice(parentDomain, a);
        f.Core.AttachDevice(parentDomain, b);

        IommuDomain aux = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        f.Core.AuxAttachDevice(aux, a);
        Assert.Same(parentDomain, aux.AuxParent);
        f.Core.AuxAttachDevice(aux, b); // same parent domain: allowed
        // c's primary domain is its default one, another parent: refused.
        Assert.Equal(Errno.EPERM, Assert.Throws<IommuException>(() => f.Core.AuxAttachDevice(aux, c)).Code);

        // Once aux, always aux: even after every detach, a normal attach is refused.
        f.Core.AuxDetachDevice(aux, a);
        f.Core.AuxDetachDevice(aux, b);
        Assert.True(aux.IsAux);
        Assert.Equal(Errno.EPERM, Assert.Throws<IommuException>(() => f.Core.AttachDevice(aux, c)).Code);
        // ...and a normal domain never becomes aux.
        Assert.Equal(Errno.EPERM, Assert.Throws<IommuException>(() => f.Core.AuxAttachDevice(parentDomain, c)).Code);

        // With the parent gone, the aux domain can follow a new parent.
        f.Core.AuxAttachDevice(aux, c);
        Assert.Same(f.Core.GetDomainForDevice(c), aux.AuxParent);

        // The same calls under VT-d rules succeed.
        using var vtd = new CoreFixture();
        PciDevice x = vtd.Pci("0000:01:00.0");
        PciDevice y = vtd.Pci("0000:02:00.0");
        vtd.Core.DevEnableFeature(x, IommuDevFeature.Aux);
        IommuDomain shared = vtd.Core.DomainAlloc(IommuDomainType.Unmanaged);
        vtd.Core.AuxAttachDevice(shared, x);
        vtd.Core.AuxDetachDevice(shared, x);
        vtd.Core.AttachDevice(shared, y);
        Assert.False(shared.IsAux);
    }

    /// <summary>Seed 004, in a VFIO container: when the rules forbid sharing, the container falls back to a
    /// second domain and replays its mappings into it, so both groups still see the same IOVA space.</summary>
    [Fact]
    public void Seed004_ContainerFallsBackToSecondDomainUnderSmmuRules()
    {
        using var f = new CoreFixture(IommuVendor.ArmSmmuV3);
        PciDevice parent = f.Pci("0000:01:00.0");
        PciDevice nic = f.Pci("0000:02:00.0", siov: false);
        f.Core.DevEnableFeature(parent, IommuDevFeature.Aux);
        f.Core.MdevRegisterParent(parent, [WorkQueue]);
        MediatedDevice mdev = f.Core.MdevCreate(parent, "idxd-wq", Guid.NewGuid());

        using var vm = new VfioContainer(f.Core);
        vm.AttachGroup(nic.Group!);
        vm.MapDma(0x1000, Vm1Memory, 0x4000, DmaProtection.ReadWrite);
        vm.AttachGroup(mdev.Group!);
        Assert.Equal(2, vm.Domains.Count);
        uint pasid = f.Core.AuxGetPasid(vm.Domains[1], parent);
        Assert.Equal(Vm1Memory + 0x10, nic.Translate(null, 0x1010, DmaAccess.Read).Hpa);
        Assert.Equal(Vm1Memory + 0x10, parent.Translate(pasid, 0x1010, DmaAccess.Read).Hpa); // replayed

        vm.MapDma(0x10_0000, Vm1Memory + 0x10_0000, 0x1000, DmaProtection.Read);
        Assert.Equal(Vm1Memory + 0x10_0000, parent.Translate(pasid, 0x10_0000, DmaAccess.Read).Hpa);
        Assert.Equal(Vm1Memory + 0x10_0000, nic.Translate(null, 0x10_0000, DmaAccess.Read).Hpa);
        vm.DetachGroup(mdev.Group!);
        Assert.Single(vm.Domains);
        // The aux domain's CD is gone from the parent's CD table: C_BAD_CD.
        Assert.Equal(SmmuEventType.BadCd, Smmu.EventOf(parent.Translate(pasid, 0x1010, DmaAccess.Read)));
    }
}
