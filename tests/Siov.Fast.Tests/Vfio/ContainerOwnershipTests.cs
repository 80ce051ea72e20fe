using Siov.Fast.Iommu;
using Siov.Fast.PageTables;
using Siov.Fast.Tests.Iommu;
using Siov.Fast.Vfio;

namespace Siov.Fast.Tests.Vfio;

/// <summary>
/// VFIO's ownership in the engine: a container's groups and domains can be changed only through the container
/// (EBUSY naming it otherwise), closing a container undoes everything and cannot fail, and the core's limits on
/// domains and table pages hold. Each test fails when its check is taken out of IommuCore or VfioContainer.
/// </summary>
public class ContainerOwnershipTests
{
    private static readonly MdevTypeSpec Wq = new("idxd-wq", "wq", "a work queue", "vfio-pci", 4, IommuBacked: true);

    /// <summary>A parent with aux on, one mdev, a NIC; a container holding both groups with 2 MiB mapped. On VT-d one domain
    /// serves both (normal on the NIC, aux on the parent); on SMMUv3 seed 004's rules make the container use two.</summary>
    private static (CoreFixture F, VfioContainer Vm, PciDevice Parent, PciDevice Nic, MediatedDevice Mdev, IommuDomain NicDomain, IommuDomain AuxDomain) Vm1(IommuVendor vendor)
    {
        var f = new CoreFixture(vendor);
        PciDevice parent = f.Pci("0000:01:00.0");
        PciDevice nic = f.Pci("0000:02:00.0", siov: false);
        f.Core.DevEnableFeature(parent, IommuDevFeature.Aux);
        f.Core.MdevRegisterParent(parent, [Wq]);
        MediatedDevice mdev = f.Core.MdevCreate(parent, "idxd-wq", Guid.NewGuid());
        var vm = new VfioContainer(f.Core, "vm1");
        vm.AttachGroup(nic.Group!);
        vm.AttachGroup(mdev.Group!);
        vm.MapDma(0, 0x40_0000_0000, 0x20_0000, DmaProtection.ReadWrite);
        Assert.Equal(vendor == IommuVendor.ArmSmmuV3 ? 2 : 1, vm.Domains.Count);
        return (f, vm, parent, nic, mdev, f.Core.GetDomainForDevice(nic)!, f.Core.GetDomainForDevice(mdev)!);
    }

    private static void Busy(Action call, string owner = "vm1")
    {
        IommuException e = Assert.Throws<IommuException>(call);
        Assert.Equal(Errno.EBUSY, e.Code);
        Assert.Contains(owner, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void ContainerGroupsAndDomains_RefuseEveryChangeFromOutside(IommuVendor vendor)
    {
        (CoreFixture f, VfioContainer vm, PciDevice parent, PciDevice nic, MediatedDevice mdev, IommuDomain nicDomain, IommuDomain aux) = Vm1(vendor);
        using (f)
        using (vm)
        {
            IommuCore core = f.Core;
            IommuDomain other = core.DomainAlloc(IommuDomainType.Unmanaged);
            Assert.Same(vm, nic.Group!.Owner);
            Busy(() => core.DetachGroup(nicDomain, nic.Group!));
            Busy(() => core.DetachDevice(nicDomain, nic));
            Busy(() => core.AuxDetachGroup(aux, mdev.Group!, parent));
            Busy(() => core.AuxDetachDevice(aux, parent));
            Busy(() => core.AttachGroup(other, nic.Group!));
            Busy(() => core.AuxAttachDevice(aux, parent));
            Busy(() => core.AttachGroupPasid(aux, core.FindPciDevice(PciAddress.Parse("0000:01:00.0"))!.Group!, 9));
            foreach (IommuDomain domain in new[] { nicDomain, aux })
            {
                Assert.Same(vm, domain.Owner);
                Busy(() => domain.Map(0x1000_0000, 0x70_0000_0000, 0x1000, DmaProtection.Read));
                Busy(() => domain.MapBatch([new IoMapping(0x1000_0000, 0x70_0000_0000, 0x1000, DmaProtection.Read)]));
                Busy(() => domain.Unmap(0, 0x1000));
                Busy(() => core.DomainFree(domain));
                Assert.Equal(0x20_0000UL, domain.PageTable!.MappedBytes);
            }
            Busy(() => core.GroupRemoveDevice(nic));
            Busy(() => core.MdevRemove(mdev.Uuid));
            // Nothing changed: the NIC and the mdev still reach VM1's memory.
            Assert.Equal(0x40_0000_1234UL, nic.Translate(null, 0x1234, DmaAccess.Write).Hpa);
            Assert.Equal(0x40_0000_1234UL, parent.Translate(core.AuxGetPasid(aux, parent), 0x1234, DmaAccess.Write).Hpa);
        }
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void Close_DetachesEverything_FreesTheDomains_AndCannotFail(IommuVendor vendor)
    {
        (CoreFixture f, VfioContainer vm, PciDevice parent, PciDevice nic, MediatedDevice mdev, IommuDomain nicDomain, IommuDomain aux) = Vm1(vendor);
        using (f)
        {
            uint pasid = f.Core.AuxGetPasid(aux, parent);
            int freeBefore = f.Memory.Frames.FreeFrames;
            vm.Dispose();
            vm.Dispose(); // again: nothing happens
            Assert.True(vm.IsClosed);
            Assert.False(nicDomain.IsAlive);
            Assert.False(aux.IsAlive);
            Assert.Null(nic.Group!.Owner);
            Assert.Null(mdev.Group!.Owner);
            Assert.Null(mdev.Group!.Domain);
            Assert.Same(nic.Group!.DefaultDomain, nic.Group!.Domain);
            Assert.Empty(parent.GetPasidDomains());
            Assert.False(parent.Translate(pasid, 0x1234, DmaAccess.Read).IsSuccess);
            Assert.False(nic.Translate(null, 0x1234, DmaAccess.Read).IsSuccess);
            Assert.True(f.Memory.Frames.FreeFrames > freeBefore); // the domain's tables went back
            Assert.Equal(Errno.ENOENT, Assert.Throws<IommuException>(() => vm.AttachGroup(nic.Group!)).Code);
            Assert.Equal(Errno.ENOENT, Assert.Throws<IommuException>(() => vm.MapDma(0, 0, 0x1000, DmaProtection.Read)).Code);
            f.Core.MdevRemove(mdev.Uuid); // free to go
            // Another container can take the NIC now.
            using var vm2 = new VfioContainer(f.Core, "vm2");
            vm2.AttachGroup(nic.Group!);
        }
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void GroupAttachedElsewhere_CannotBeClaimed(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice nic = f.Pci("0000:02:00.0", siov: false);
        IommuDomain domain = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        f.Core.AttachGroup(domain, nic.Group!);
        using var vm = new VfioContainer(f.Core);
        Assert.Equal(Errno.EBUSY, Assert.Throws<IommuException>(() => vm.AttachGroup(nic.Group!)).Code);
        Assert.Null(nic.Group!.Owner);
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void DmaEntryLimit_IsEnospc_AndOverlapsAreFoundAmongManyMappings(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice nic = f.Pci("0000:02:00.0", siov: false);
        using var vm = new VfioContainer(f.Core) { DmaEntryLimit = 100 };
        vm.AttachGroup(nic.Group!);
        for (ulong i = 0; i < 100; i++)
            vm.MapDma(i * 0x3000, 0x1000_0000 + i * 0x1000, 0x2000, DmaProtection.Read);
        Assert.Equal(Errno.ENOSPC, Assert.Throws<IommuException>(() => vm.MapDma(0x100_0000, 0, 0x1000, DmaProtection.Read)).Code);
        Assert.Equal(Errno.EEXIST, Assert.Throws<IommuException>(() => vm.MapDma(0x3000 * 50 + 0x1000, 0, 0x1000, DmaProtection.Read)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => vm.UnmapDma(0x3000 * 50 + 0x1000, 0x1000)).Code); // straddles
        Assert.Equal(0x2000UL * 3, vm.UnmapDma(0x3000 * 10, 0x3000 * 3));
        Assert.Equal(97, vm.DmaMappings.Count);
    }

    [Fact]
    public void MaxDomains_CountsAllocatedDomainsOnly_AndTablePageLimitApplies()
    {
        using var f = new CoreFixture(options: new IommuCoreOptions { MaxDomains = 2, MaxTablePagesPerDomain = 8 });
        f.Pci("0000:02:00.0", siov: false); // its default domain does not count
        IommuDomain a = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        IommuDomain b = f.Core.DomainAlloc(IommuDomainType.Blocked);
        IommuException e = Assert.Throws<IommuException>(() => f.Core.DomainAlloc(IommuDomainType.Unmanaged));
        Assert.Equal(Errno.ENOSPC, e.Code);
        Assert.Contains("limit of 2", e.Message, StringComparison.Ordinal);
        f.Core.DomainFree(b);
        f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        Assert.Equal(8, a.PageTable!.TablePageLimit);
        int free = f.Memory.Frames.FreeFrames;
        Assert.Equal(Errno.ENOSPC, Assert.Throws<IommuException>(() => a.Map(0, 0x1000, 0x100_0000_0000, DmaProtection.Read)).Code);
        Assert.Equal(free, f.Memory.Frames.FreeFrames);
    }

    [Fact]
    public void UnmapAndPrune_GivesBackTheTablesAMapCreated_AndKeepsTheRest()
    {
        using var f = new CoreFixture();
        using var table = new SecondLevelPageTable(f.Memory);
        table.Map(0x7000_0000, 0x1000, 0x1000, DmaProtection.Read);
        int free = f.Memory.Frames.FreeFrames;
        table.Map(0x80_0000_0000, 0x2000, 0x40_0000, DmaProtection.Read);   // new L3, L2 and two L1 tables
        table.Map(0x7000_1000, 0x3000, 0x1000, DmaProtection.Read);          // into the existing L1 table
        Assert.True(f.Memory.Frames.FreeFrames < free);
        table.UnmapAndPrune(0x80_0000_0000, 0x40_0000);
        table.UnmapAndPrune(0x7000_1000, 0x1000);
        f.Memory.Reclaimer.Drain();
        Assert.Equal(free, f.Memory.Frames.FreeFrames);
        Assert.Equal(0x1000UL, table.Walk(0x7000_0000).Hpa);
    }
}
