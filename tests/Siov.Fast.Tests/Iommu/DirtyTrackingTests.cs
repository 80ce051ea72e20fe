using Siov.Fast.Iommu;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.Iommu;

/// <summary>
/// Dirty tracking (VT-d SLADE, iommu_dirty_ops): the driver sets SLADE in the domain's PASID entries, the unit sets D
/// on writes, read-and-clear reports and clears D and flushes the IOTLB so the next write is recorded again. The oracle
/// is the set of pages the test wrote; a missing flush after the clear would lose the third write.
/// </summary>
public sealed class DirtyTrackingTests
{
    private const ulong Base = 0x10_0000;

    [Fact]
    public void Writes_are_reported_once_and_again_after_a_clear()
    {
        using var f = new CoreFixture();
        PciDevice dev = f.Pci("0000:01:00.0");
        IommuDomain domain = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        domain.Map(Base, 0x4000_0000, 4 * 4096, DmaProtection.ReadWrite);
        f.Core.AttachDevice(domain, dev);
        ulong pasidEntry = f.Core.GetDriver(f.Unit) is Siov.Fast.Drivers.IntelVtd.IntelIommu intel
            ? intel.GetPasidEntryAddress(dev.RequesterId, 0)!.Value : 0;
        Assert.Equal(0UL, f.Memory.ReadUInt64(pasidEntry) & (1UL << 9));

        // Before tracking: a write is cached writable and nothing is recorded.
        Assert.True(dev.Translate(null, Base, DmaAccess.Write).IsSuccess);
        domain.SetDirtyTracking(true);
        Assert.True(domain.DirtyTracking);
        Assert.Equal(1UL << 9, f.Memory.ReadUInt64(pasidEntry) & (1UL << 9)); // SLADE

        Assert.True(dev.Translate(null, Base + 0x1008, DmaAccess.Write).IsSuccess);
        Assert.True(dev.Translate(null, Base + 0x2000, DmaAccess.Read).IsSuccess);
        Assert.Equal([Base + 0x1000], domain.ReadAndClearDirty(Base, 4 * 4096, noClear: true).Select(m => m.Iova));
        Assert.Equal([Base + 0x1000], domain.ReadAndClearDirty(Base, 4 * 4096).Select(m => m.Iova));
        Assert.Empty(domain.ReadAndClearDirty(Base, 4 * 4096));

        // Written again after the clear: the flush made the unit walk and set D once more.
        Assert.True(dev.Translate(null, Base + 0x1010, DmaAccess.Write).IsSuccess);
        Assert.True(dev.Translate(null, Base + 0x3000, DmaAccess.Write).IsSuccess);
        Assert.Equal([Base + 0x1000, Base + 0x3000], domain.ReadAndClearDirty(Base, 4 * 4096).Select(m => m.Iova));

        domain.SetDirtyTracking(false);
        Assert.Equal(0UL, f.Memory.ReadUInt64(pasidEntry) & (1UL << 9));
        Assert.Empty(f.StaleTranslations);
    }

    [Fact]
    public void Domains_and_units_that_cannot_track_refuse_with_EOPNOTSUPP()
    {
        using var f = new CoreFixture();
        IommuDomain identity = f.Core.DomainAlloc(IommuDomainType.Identity);
        Assert.Equal(Errno.EOPNOTSUPP, Assert.Throws<IommuException>(() => identity.SetDirtyTracking(true)).Code);

        Siov.Fast.Hardware.Vtd.RemappingUnit legacy = f.AddLegacyUnit(0xFED9_1000);
        PciDevice old = f.Pci("0000:05:00.0", siov: false, unit: legacy);
        IommuDomain domain = f.Core.DomainAlloc(IommuDomainType.Unmanaged, new SecondLevelFormat { Levels = 3, PageSizes = PageSizes.Size4K, HostAddressWidth = 36 });
        f.Core.AttachDevice(domain, old);
        Assert.Equal(Errno.EOPNOTSUPP, Assert.Throws<IommuException>(() => domain.SetDirtyTracking(true)).Code);
        Assert.False(domain.DirtyTracking);
    }
}
