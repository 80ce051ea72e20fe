using Siov.Fast.Iommu;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.Iommu;

/// <summary>
/// SVA (iommu_sva_bind_device): a device shares a process address space, its IA-32e table, at the process's PASID. The
/// oracle is the process's own table (built by the test as the kernel builds a process's page table) and DMA through
/// the device with that PASID.
/// </summary>
public sealed class SvaTests
{
    [Fact]
    public void A_bound_device_translates_through_the_process_table_at_its_pasid()
    {
        using var f = new CoreFixture();
        PciDevice dsa = f.Pci("0000:01:00.0"), nic = f.Pci("0000:02:00.0");
        using var mm = new SecondLevelPageTable(f.Memory, new SecondLevelFormat { Stage = PageTableStage.FirstLevel });
        mm.Map(0x7fff_0000_0000, 0x200_0000, 0x2000, DmaProtection.ReadWrite);
        var process = new Stage1Table(mm.RootHpa, 4);

        IommuSva bond = f.Core.SvaBindDevice(dsa, process);
        Assert.Same(bond, f.Core.SvaBindDevice(dsa, process));                         // bound again: the same bond, 2 users
        IommuSva other = f.Core.SvaBindDevice(nic, process);
        Assert.Equal(bond.Pasid, other.Pasid);                                          // one PASID per process
        Assert.Equal(IommuDomainType.Sva, bond.Domain.Type);
        Assert.Equal(0x200_1234UL, dsa.Translate(bond.Pasid, 0x7fff_0000_1234, DmaAccess.Write).Hpa);
        Assert.Equal(0x200_0010UL, nic.Translate(other.Pasid, 0x7fff_0000_0010, DmaAccess.Read).Hpa);
        Assert.False(dsa.Translate(null, 0x7fff_0000_1234, DmaAccess.Read).IsSuccess); // without the PASID: its own domain

        // The process remaps a page: after the mmu-notifier invalidation the devices see the new page.
        mm.Unmap(0x7fff_0000_1000, 0x1000);
        mm.Map(0x7fff_0000_1000, 0x300_0000, 0x1000, DmaProtection.ReadWrite);
        f.Core.SvaInvalidate(bond, 0x7fff_0000_1000, 1);
        Assert.Equal(0x300_0234UL, dsa.Translate(bond.Pasid, 0x7fff_0000_1234, DmaAccess.Read).Hpa);

        f.Core.SvaUnbindDevice(bond);
        Assert.True(dsa.Translate(bond.Pasid, 0x7fff_0000_0010, DmaAccess.Read).IsSuccess); // one user left
        f.Core.SvaUnbindDevice(bond);
        Assert.False(dsa.Translate(bond.Pasid, 0x7fff_0000_0010, DmaAccess.Read).IsSuccess);
        Assert.Equal(Errno.ENOENT, Assert.Throws<IommuException>(() => f.Core.SvaUnbindDevice(bond)).Code);
        f.Core.SvaUnbindDevice(other);
        Assert.False(bond.Domain.IsAlive);                                              // the process's last bond
        Assert.Empty(f.StaleTranslations);
    }

    [Fact]
    public void Devices_and_tables_that_cannot_share_are_refused()
    {
        using var f = new CoreFixture();
        PciDevice plain = f.Pci("0000:05:00.0", siov: false);
        using var mm = new SecondLevelPageTable(f.Memory, new SecondLevelFormat { Stage = PageTableStage.FirstLevel });
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => f.Core.SvaBindDevice(plain, new Stage1Table(mm.RootHpa, 4))).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => f.Core.SvaBindDevice(f.Pci("0000:01:00.0"), new Stage1Table(mm.RootHpa, 3))).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => f.Core.DomainAlloc(IommuDomainType.Sva)).Code);
    }
}
