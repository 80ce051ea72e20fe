using Siov.Fast.Iommu;
using Siov.Fast.Iommufd;
using Siov.Fast.Tests.Iommu;
using Siov.Fast.Vfio;

namespace Siov.Fast.Tests.Iommufd;

/// <summary>
/// The iommufd object model against the kernel's semantics (drivers/iommu/iommufd and its selftest): each errno case
/// beside the call that succeeds, and DMA through the devices as the oracle for what the HWPTs map.
/// </summary>
public sealed class IommufdTests
{
    private const ulong Page = 4096;

    private static Errno Code(Action call) => Assert.Throws<IommuException>(call).Code;

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void Ioas_map_and_unmap_follow_io_pagetable(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        using var ctx = new IommufdContext(f.Core);
        IommufdIoas ioas = ctx.AllocIoas();
        Assert.Equal(0x10_0000UL, ioas.Map(0x10_0000, 0x4000_0000, 4 * Page, DmaProtection.ReadWrite));
        Assert.Equal(Errno.EEXIST, Code(() => ioas.Map(0x10_3000, 0x5000_0000, 2 * Page, DmaProtection.Read)));   // over map
        Assert.Equal(Errno.EINVAL, Code(() => ioas.Map(0x20_0000, 0x5000_0000, 0, DmaProtection.Read)));          // length 0
        Assert.Equal(Errno.EINVAL, Code(() => ioas.Map(0x20_0800, 0x5000_0000, Page, DmaProtection.Read)));       // unaligned
        Assert.Equal(Errno.EINVAL, Code(() => ioas.Map(0x20_0000, 0x5000_0000, Page, DmaProtection.None)));      // no access
        Assert.Equal(Errno.EINVAL, Code(() => ioas.Map(1UL << 48, 0x5000_0000, Page, DmaProtection.Read)));      // beyond aperture

        // The IOAS chooses the lowest free IOVA, never 0.
        Assert.Equal(Page, ioas.Map(null, 0x6000_0000, Page, DmaProtection.Read));
        Assert.Equal(2 * Page, ioas.Map(null, 0x6000_1000, Page, DmaProtection.Read));

        Assert.Equal(Errno.ENOENT, Code(() => ioas.Unmap(0x80_0000, Page)));                                       // nothing there
        Assert.Equal(Errno.ENOENT, Code(() => ioas.Unmap(0x10_1000, Page)));                                       // split fails
        Assert.Equal(4 * Page, ioas.Areas.Single(a => a.Iova == 0x10_0000).Length);
        Assert.Equal(2 * Page, ioas.Unmap(Page, 2 * Page));                                                        // two areas at once
        Assert.Equal(4 * Page, ioas.Unmap(0, ulong.MaxValue));                                                     // unmap all
        Assert.Equal(0UL, ioas.Unmap(0, ulong.MaxValue));                                                          // on empty: 0
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void Allowed_iovas_steer_allocation_only(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        using var ctx = new IommufdContext(f.Core);
        IommufdIoas ioas = ctx.AllocIoas();
        Assert.Equal(Errno.EINVAL, Code(() => ioas.AllowIovas([new IovaRange(0x1000, 0x1000)])));                 // start >= last
        Assert.Equal(Errno.EINVAL, Code(() => ioas.AllowIovas([new IovaRange(0x1_0000, 0x2_ffff), new IovaRange(0x2_0000, 0x4_0000)])));
        ioas.AllowIovas([new IovaRange(0x80_0000, 0x80_ffff), new IovaRange(0x40_0000, 0x40_1fff)]);              // any order
        Assert.Equal([new IovaRange(0x40_0000, 0x40_1fff), new IovaRange(0x80_0000, 0x80_ffff)], ioas.IovaRanges());
        Assert.Equal(0x40_0000UL, ioas.Map(null, 0x1000_0000, 2 * Page, DmaProtection.Read));
        Assert.Equal(0x80_0000UL, ioas.Map(null, 0x1000_2000, Page, DmaProtection.Read));                        // the first is full
        Assert.Equal(0x10UL << 20, ioas.Map(0x10UL << 20, 0x1000_3000, Page, DmaProtection.Read));               // fixed: not bound
        Assert.Equal(Errno.ENOSPC, Code(() => ioas.Map(null, 0x1000_4000, 1UL << 20, DmaProtection.Read)));
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void Copy_takes_parts_of_areas_and_contiguous_areas(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        using var ctx = new IommufdContext(f.Core);
        IommufdIoas a = ctx.AllocIoas(), b = ctx.AllocIoas();
        a.Map(0x10_0000, 0x4000_0000, 4 * Page, DmaProtection.ReadWrite);
        a.Map(0x10_4000, 0x5000_0000, 2 * Page, DmaProtection.Read);
        Assert.Equal(0x20_0000UL, b.Copy(a, 0x10_1000, 2 * Page, 0x20_0000, DmaProtection.ReadWrite));
        Assert.Equal(new IoasArea(0x20_0000, 0x4000_1000, 2 * Page, DmaProtection.ReadWrite), b.Areas.Single());
        Assert.Equal(0x30_0000UL, b.Copy(a, 0x10_3000, 2 * Page, 0x30_0000, DmaProtection.Read));               // across two areas
        Assert.Equal([0x4000_3000UL, 0x5000_0000UL], b.Areas.Where(x => x.Iova >= 0x30_0000).Select(x => x.Hpa));
        Assert.Equal(Errno.EPERM, Code(() => b.Copy(a, 0x10_4000, Page, 0x40_0000, DmaProtection.ReadWrite)));   // read-only source
        Assert.Equal(Errno.ENOENT, Code(() => b.Copy(a, 0x10_5000, 2 * Page, 0x40_0000, DmaProtection.Read)));   // not covered
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void Devices_attach_through_auto_domains_and_replace(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice nic = f.Pci("0000:02:00.0"), gpu = f.Pci("0000:03:00.0");
        using var ctx = new IommufdContext(f.Core);
        IommufdIoas ioas = ctx.AllocIoas();
        ioas.Map(0x1000_0000, 0x4000_0000, 16 * Page, DmaProtection.ReadWrite);
        IommufdDevice dNic = ctx.BindDevice(nic), dGpu = ctx.BindDevice(gpu);
        Assert.Equal(Errno.EBUSY, Code(() => ctx.BindDevice(nic)));

        // The group is the context's: a VFIO container cannot take it.
        using (var container = new VfioContainer(f.Core))
            Assert.Equal(Errno.EBUSY, Code(() => container.AttachGroup(nic.Group!)));

        var auto = (IommufdHwptPaging)ctx.Attach(dNic.Id, ioas.Id);
        Assert.True(auto.IsAuto);
        Assert.Same(auto, ctx.Attach(dGpu.Id, ioas.Id));                                                    // the auto domain is shared
        Assert.Equal(0x4000_2345UL, nic.Translate(null, 0x1000_2345, DmaAccess.Write).Hpa);
        ioas.Map(0x2000_0000, 0x7000_0000, Page, DmaProtection.Read);                                           // reaches the domain
        Assert.Equal(0x7000_0010UL, gpu.Translate(null, 0x2000_0010, DmaAccess.Read).Hpa);
        Assert.Equal(Errno.EBUSY, Code(() => ctx.Destroy(ioas.Id)));                                           // the HWPT uses it
        Assert.Equal(Errno.EBUSY, Code(() => ctx.Destroy(auto.Id)));                                           // devices use it
        Assert.Equal(Errno.ENOENT, Code(() => ctx.Destroy(999)));

        // Replace to a manual HWPT over another IOAS: the old auto domain goes with its last device.
        IommufdIoas other = ctx.AllocIoas();
        other.Map(0x1000_0000, 0x6000_0000, Page, DmaProtection.ReadWrite);
        IommufdHwptPaging manual = ctx.AllocHwpt(dNic.Id, other.Id);
        Assert.Same(manual, ctx.Replace(dNic.Id, manual.Id));
        Assert.Equal(0x6000_0000UL, nic.Translate(null, 0x1000_0000, DmaAccess.Read).Hpa);
        Assert.Same(manual, ctx.Attach(dGpu.Id, manual.Id));                                                 // attach replaces too
        Assert.DoesNotContain(auto, ctx.Objects);
        Assert.False(auto.Domain.IsAlive);

        ctx.Detach(dNic.Id);
        Assert.Equal(Errno.EINVAL, Code(() => ctx.Detach(dNic.Id)));
        Assert.False(nic.Translate(null, 0x1000_0000, DmaAccess.Read).IsSuccess);                             // back to its default domain
        ctx.Detach(dGpu.Id);
        ctx.Destroy(manual.Id);                                                                                 // a manual HWPT lives until destroyed
        ctx.Destroy(other.Id);
        Assert.Equal(Errno.EINVAL, Code(() => ctx.AllocHwpt(dNic.Id, dGpu.Id)));                              // not an IOAS
        Assert.Equal(Errno.EINVAL, Code(() => ctx.Attach(dNic.Id, dGpu.Id)));
        Assert.Empty(f.StaleTranslations);
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void Seed_002_one_ioas_for_a_pdev_and_an_mdev_pasid(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice parent = f.Pci("0000:01:00.0"), nic = f.Pci("0000:02:00.0");
        f.Core.MdevRegisterParent(parent, [new MdevTypeSpec("idxd-wq", "wq", "a work queue", "vfio-pci", 4, true)]);
        f.Core.DevEnableFeature(parent, IommuDevFeature.Aux);
        MediatedDevice wq2 = f.Core.MdevCreate(parent, "idxd-wq", Guid.NewGuid());
        using var ctx = new IommufdContext(f.Core);
        IommufdIoas gpa = ctx.AllocIoas();
        gpa.Map(0, 0x40_0000_0000, 64UL << 20, DmaProtection.ReadWrite);                                     // VM1's RAM
        IommufdHwpt hwpt = ctx.Attach(ctx.BindDevice(nic).Id, gpa.Id);
        IommufdHwpt wqHwpt = ctx.Attach(ctx.BindDevice(wq2).Id, gpa.Id);
        if (vendor == IommuVendor.IntelVtd)
            Assert.Same(hwpt, wqHwpt);                                                                          // primary for the NIC, aux for the WQ
        else
            Assert.NotSame(hwpt, wqHwpt); // seed 004 refuses the NIC's domain as an aux domain: a second HWPT of the same IOAS
        uint pasid = f.Core.AuxGetPasid(wqHwpt.Domain, parent);
        Assert.Equal(0x40_0001_2345UL, nic.Translate(null, 0x1_2345, DmaAccess.Write).Hpa);
        Assert.Equal(0x40_0001_2345UL, parent.Translate(pasid, 0x1_2345, DmaAccess.Write).Hpa);
        ctx.Dispose();                                                                                          // closing undoes it all
        Assert.False(parent.Translate(pasid, 0x1_2345, DmaAccess.Read).IsSuccess);
        Assert.Null(nic.Group!.Owner);
        Assert.Empty(f.StaleTranslations);
    }

    [Fact]
    public void Dirty_tracking_and_hw_info()
    {
        using var f = new CoreFixture();
        PciDevice nic = f.Pci("0000:02:00.0");
        using var ctx = new IommufdContext(f.Core);
        IommufdIoas ioas = ctx.AllocIoas();
        ioas.Map(0x10_0000, 0x4000_0000, 8 * Page, DmaProtection.ReadWrite);
        IommufdDevice d = ctx.BindDevice(nic);
        IommufdHwInfo info = ctx.GetHwInfo(d.Id);
        Assert.Equal((1u, 1u, f.Unit.Capability.Encode(), f.Unit.ExtendedCapability.Encode(), true),
            (info.DataType, info.Flags, info.CapabilityRegister, info.ExtendedCapabilityRegister, info.DirtyTracking));

        IommufdHwptPaging plain = ctx.AllocHwpt(d.Id, ioas.Id);
        Assert.Equal(Errno.EOPNOTSUPP, Code(() => plain.SetDirtyTracking(true)));
        Assert.Equal(Errno.EINVAL, Code(() => plain.GetDirtyBitmap(0x10_0000, 8 * Page, 0)));                // arguments first
        Assert.Equal(Errno.EOPNOTSUPP, Code(() => plain.GetDirtyBitmap(0x10_0000, 8 * Page, Page)));
        IommufdHwptPaging tracked = ctx.AllocHwpt(d.Id, ioas.Id, IommufdHwptAllocOptions.DirtyTracking);
        ctx.Attach(d.Id, tracked.Id);
        tracked.SetDirtyTracking(true);
        Assert.True(nic.Translate(null, 0x10_1000, DmaAccess.Write).IsSuccess);
        Assert.True(nic.Translate(null, 0x10_6008, DmaAccess.Write).IsSuccess);
        Assert.True(nic.Translate(null, 0x10_2000, DmaAccess.Read).IsSuccess);
        Assert.Equal([0b0100_0010UL], tracked.GetDirtyBitmap(0x10_0000, 8 * Page, Page, noClear: true));
        Assert.Equal([0b0100_0010UL], tracked.GetDirtyBitmap(0x10_0000, 8 * Page, Page));
        Assert.Equal([0UL], tracked.GetDirtyBitmap(0x10_0000, 8 * Page, Page));

        // A legacy unit cannot track: EOPNOTSUPP at allocation.
        Siov.Fast.Hardware.Vtd.RemappingUnit legacy = f.AddLegacyUnit(0xFED9_1000);
        IommufdDevice old = ctx.BindDevice(f.Pci("0000:05:00.0", siov: false, unit: legacy));
        Assert.False(ctx.GetHwInfo(old.Id).DirtyTracking);
        Assert.Equal(Errno.EOPNOTSUPP, Code(() => ctx.AllocHwpt(old.Id, ioas.Id, IommufdHwptAllocOptions.DirtyTracking)));
        Assert.Empty(f.StaleTranslations);
    }

    [Fact]
    public void Nested_hwpt_translates_through_the_guest_stage_1_and_the_parent()
    {
        using var f = new CoreFixture();
        PciDevice nic = f.Pci("0000:02:00.0");
        using var ctx = new IommufdContext(f.Core);
        IommufdIoas gpa = ctx.AllocIoas();
        gpa.Map(0, 0, 128UL << 20, DmaProtection.ReadWrite);                           // the guest's RAM: GPA = HPA here
        IommufdDevice d = ctx.BindDevice(nic);
        IommufdHwptPaging plain = ctx.AllocHwpt(d.Id, gpa.Id);
        IommufdHwptPaging parent = ctx.AllocHwpt(d.Id, gpa.Id, IommufdHwptAllocOptions.NestParent);
        // The guest builds its stage-1 (first-level) table in its RAM.
        using var guest = new Siov.Fast.PageTables.SecondLevelPageTable(f.Memory,
            new Siov.Fast.PageTables.SecondLevelFormat { Stage = Siov.Fast.PageTables.PageTableStage.FirstLevel });
        guest.Map(0x7000_0000, 0x300_0000, 0x1000, DmaProtection.ReadWrite);
        var s1 = new VtdStage1(VtdStage1Options.None, guest.RootHpa, 48);

        Assert.Equal(Errno.EINVAL, Code(() => ctx.AllocHwptNested(d.Id, plain.Id, s1)));                      // not a nest parent
        Assert.Equal(Errno.EINVAL, Code(() => ctx.AllocHwptNested(d.Id, parent.Id, s1 with { AddressWidth = 39 })));
        Assert.Equal(Errno.EOPNOTSUPP, Code(() => ctx.AllocHwptNested(d.Id, parent.Id, s1 with { Flags = (VtdStage1Options)8 })));
        IommufdHwptNested nested = ctx.AllocHwptNested(d.Id, parent.Id, s1);
        Assert.Equal(Errno.EBUSY, Code(() => ctx.Destroy(parent.Id)));                                        // the nested HWPT uses it
        Assert.Same(nested, ctx.Attach(d.Id, nested.Id));
        Assert.Equal(0x300_0123UL, nic.Translate(null, 0x7000_0123, DmaAccess.Write).Hpa);

        // The guest remaps: the unit keeps the old translation until the stage-1 invalidation.
        guest.Unmap(0x7000_0000, 0x1000);
        guest.Map(0x7000_0000, 0x400_0000, 0x1000, DmaProtection.ReadWrite);
        Assert.Equal(0x300_0123UL, nic.Translate(null, 0x7000_0123, DmaAccess.Read).Hpa);
        Assert.Equal(Errno.EINVAL, Code(() => nested.Invalidate(0x7000_0100, 1)));                           // unaligned
        nested.Invalidate(0x7000_0000, 1);
        Assert.Equal(0x400_0123UL, nic.Translate(null, 0x7000_0123, DmaAccess.Read).Hpa);

        // The host unmaps guest RAM (stage 2): the nested translation goes with it.
        gpa.Unmap(0, ulong.MaxValue);
        Assert.False(nic.Translate(null, 0x7000_0123, DmaAccess.Read).IsSuccess);
        ctx.Detach(d.Id);
        ctx.Destroy(nested.Id);
        ctx.Destroy(parent.Id);
        // The unit's sanitizer compared every nested translation with memory: a stale one would be reported here.
        Assert.Empty(f.StaleTranslations);
    }

    [Theory]
    [MemberData(nameof(CoreFixture.Vendors), MemberType = typeof(CoreFixture))]
    public void Pasid_attach_replace_and_detach(IommuVendor vendor)
    {
        using var f = new CoreFixture(vendor);
        PciDevice dsa = f.Pci("0000:01:00.0");
        using var ctx = new IommufdContext(f.Core);
        IommufdIoas a = ctx.AllocIoas(), b = ctx.AllocIoas();
        a.Map(0x1000, 0x4000_0000, Page, DmaProtection.ReadWrite);
        b.Map(0x1000, 0x5000_0000, Page, DmaProtection.ReadWrite);
        IommufdDevice d = ctx.BindDevice(dsa);
        IommufdHwptPaging ha = ctx.AllocHwpt(d.Id, a.Id), hb = ctx.AllocHwpt(d.Id, b.Id);
        Assert.Equal(Errno.EINVAL, Code(() => ctx.AttachPasid(d.Id, 7, d.Id)));                              // a device is no page table
        Assert.Equal(Errno.EINVAL, Code(() => ctx.AttachPasid(d.Id, 0, ha.Id)));                             // PASID 0 is RID_PASID
        var auto = (IommufdHwptPaging)ctx.AttachPasid(d.Id, 9, a.Id);                                        // an IOAS: an auto HWPT
        Assert.True(auto.IsAuto);
        Assert.Equal(0x4000_0020UL, dsa.Translate(9, 0x1020, DmaAccess.Read).Hpa);
        ctx.DetachPasid(d.Id, 9);
        Assert.DoesNotContain(auto, ctx.Objects);                                                              // gone with its last user
        Assert.Same(ha, ctx.AttachPasid(d.Id, 7, ha.Id));
        Assert.Equal(0x4000_0010UL, dsa.Translate(7, 0x1010, DmaAccess.Read).Hpa);
        Assert.False(dsa.Translate(null, 0x1010, DmaAccess.Read).IsSuccess);                                  // only that PASID
        Assert.Equal(Errno.EBUSY, Code(() => ctx.Destroy(ha.Id)));
        Assert.Same(hb, ctx.AttachPasid(d.Id, 7, hb.Id));                                                   // replaced
        Assert.Equal(0x5000_0010UL, dsa.Translate(7, 0x1010, DmaAccess.Read).Hpa);
        ctx.Destroy(ha.Id);
        ctx.DetachPasid(d.Id, 7);
        Assert.Equal(Errno.ENOENT, Code(() => ctx.DetachPasid(d.Id, 7)));
        Assert.False(dsa.Translate(7, 0x1010, DmaAccess.Read).IsSuccess);
        Assert.Empty(f.StaleTranslations);
    }
}
