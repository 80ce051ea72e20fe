using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;
using Siov.Fast.Platforms;
using Siov.Fast.Vfio;

namespace Siov.Fast.Tests.Remapping;

/// <summary>
/// The invalidation sanitizer: a driver that leaves one invalidation out of its sequence is caught, with the cache,
/// the changed table entry and the missing invalidation named; a correct driver (ours, through the object model) is
/// never reported; a change not yet followed by any invalidation is taken as in flight. Without the sanitizer the
/// stale translations go unnoticed, which is what the first test shows before it switches it on.
/// </summary>
public class SanitizerTests
{
    private const ushort Rid = 0x0100;

    [Fact]
    public void MissingPasidBasedIotlbInvalidation_IsReported_WithTheLeafPteWrite()
    {
        using var f = UnitFixture.Scalable();
        using SecondLevelPageTable table = f.NewTable();
        table.Map(0x7000, 0x40_0000_7000, 0x1000, DmaProtection.ReadWrite);
        f.Unit.SetupPasidSecondLevel(Rid, 3, 5, table);
        InvalidationSanitizer sanitizer = f.Unit.EnableSanitizer();
        Assert.True(f.Unit.Translate(Rid, 3, 0x7010, DmaAccess.Read).IsSuccess); // fills the IOTLB

        // The buggy driver: clears the PTE, then invalidates the IOTLB of the wrong page (0x8000, an off-by-one).
        table.Unmap(0x7000, 0x1000);
        f.Unit.InvalidateIotlbPages(5, 3, 0x8000, 0);
        TranslationResult stale = f.Unit.Translate(Rid, 3, 0x7010, DmaAccess.Read);
        Assert.True(stale.IsSuccess); // the real cache kept the old translation, as hardware would

        StaleTranslationReport report = Assert.Single(sanitizer.GetReports());
        Assert.Equal(StaleCache.Iotlb, report.Cache);
        Assert.Equal("PASID-based IOTLB invalidation DID 5 PASID 3 ADDR 0x7000 AM 0", report.MissingInvalidation);
        Assert.False(report.InMemory.IsSuccess);
        MemoryWrite write = report.ChangedEntry!.Value;
        Assert.Equal(0x40_0000_7000UL, write.OldValue & SecondLevelEntry.AddressMask);
        Assert.Equal(0UL, write.NewValue);
        Assert.Equal(write.Hpa, LeafPteAddress(f.Memory, table.RootHpa, 4, 0x7000)); // the leaf, found by our own walk
        Assert.Contains("missing after second-level PTE write at 0x" + write.Hpa.ToString("x"), report.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, sanitizer.StaleTranslations);

        // The invalidation that was missing makes it right.
        f.Unit.InvalidateIotlbPages(5, 3, 0x7000, 0);
        Assert.False(f.Unit.Translate(Rid, 3, 0x7010, DmaAccess.Read).IsSuccess);
        Assert.Equal(1, sanitizer.StaleTranslations);
    }

    [Fact]
    public void MissingPasidCacheInvalidation_IsReported_WithThePasidEntryWrite()
    {
        using var f = UnitFixture.Scalable();
        using SecondLevelPageTable table = f.NewTable();
        table.Map(0x7000, 0x40_0000_7000, 0x1000, DmaProtection.ReadWrite);
        f.Unit.SetupPasidSecondLevel(Rid, 3, 5, table);
        InvalidationSanitizer sanitizer = f.Unit.EnableSanitizer();
        Assert.True(f.Unit.Translate(Rid, 3, 0x7010, DmaAccess.Read).IsSuccess);

        // The buggy driver: clears the PASID entry's P bit, flushes the IOTLB of PASID 3, and the PASID cache of PASID 4.
        ulong entry = f.Unit.GetPasidEntryAddress(Rid, 3)!.Value;
        f.Memory.WriteUInt64(entry, f.Memory.ReadUInt64(entry) & ~1UL);
        f.Unit.InvalidateIotlbPasid(5, 3);
        f.Unit.InvalidatePasidCache(5, 4);
        Assert.True(f.Unit.Translate(Rid, 3, 0x7010, DmaAccess.Read).IsSuccess); // stale: the cached PASID entry is still used

        StaleTranslationReport report = Assert.Single(sanitizer.GetReports());
        Assert.Equal(StaleCache.PasidCache, report.Cache);
        Assert.Equal("PASID-cache invalidation (PASID-selective) DID 5 PASID 3", report.MissingInvalidation);
        Assert.Equal(entry, report.ChangedEntry!.Value.Hpa);
        Assert.Equal(FaultReason.SmPasidEntryNotPresent, report.InMemory.Fault);
    }

    [Fact]
    public void MissingContextCacheInvalidation_IsReported_WithTheContextEntryWrite()
    {
        using var f = UnitFixture.Legacy();
        using SecondLevelPageTable table = f.NewTable();
        table.Map(0x7000, 0x4000_7000, 0x1000, DmaProtection.ReadWrite);
        f.Unit.SetupContextSecondLevel(Rid, 7, table);
        InvalidationSanitizer sanitizer = f.Unit.EnableSanitizer();
        Assert.True(f.Unit.Translate(Rid, null, 0x7010, DmaAccess.Read).IsSuccess);

        ulong context = f.Unit.GetContextEntryAddress(Rid)!.Value;
        f.Memory.WriteUInt64(context, 0);       // P = 0 ...
        f.Unit.InvalidateContextCacheDevice(0x0101); // ... and the context cache of the wrong function (01:00.1)
        f.Unit.InvalidateIotlbDomain(7);
        Assert.True(f.Unit.Translate(Rid, null, 0x7010, DmaAccess.Read).IsSuccess);

        StaleTranslationReport report = Assert.Single(sanitizer.GetReports());
        Assert.Equal(StaleCache.ContextCache, report.Cache);
        Assert.Equal("context-cache invalidation (device-selective) SID 01:00.0 DID 7", report.MissingInvalidation);
        Assert.Equal(context, report.ChangedEntry!.Value.Hpa);
    }

    [Fact]
    public void ChangeNotYetFollowedByAnyInvalidation_IsInFlight_NotReported()
    {
        using var f = UnitFixture.Scalable();
        using SecondLevelPageTable table = f.NewTable();
        table.Map(0x7000, 0x40_0000_7000, 0x1000, DmaProtection.ReadWrite);
        f.Unit.SetupPasidSecondLevel(Rid, 3, 5, table);
        InvalidationSanitizer sanitizer = f.Unit.EnableSanitizer();
        f.Unit.Translate(Rid, 3, 0x7010, DmaAccess.Read);
        table.Unmap(0x7000, 0x1000);
        Assert.True(f.Unit.Translate(Rid, 3, 0x7010, DmaAccess.Read).IsSuccess); // stale, but the driver may still flush
        Assert.Empty(sanitizer.GetReports());
    }

    [Fact]
    public void OurDriver_ThroughTheObjectModel_IsNeverReported()
    {
        using ModelledPlatform platform = ModelledPlatform.CreateDefault();
        InvalidationSanitizer[] sanitizers = [.. platform.Units.Select(u => u.EnableSanitizer())];
        IommuCore core = platform.Core;
        PciDevice parent = core.FindPciDevice(PciAddress.Parse("01:00.0"))!;
        PciDevice nic = core.FindPciDevice(PciAddress.Parse("02:00.0"))!;
        core.DevEnableFeature(parent, IommuDevFeature.Aux);
        MediatedDevice wq = core.MdevCreate(parent, "idxd-wq", Guid.NewGuid());

        void Probe(uint? pasid, PciDevice device)
        {
            for (ulong iova = 0; iova < 0x40_0000; iova += 0x3000)
                device.Translate(pasid, iova, DmaAccess.Read);
        }

        for (int round = 0; round < 3; round++)
        {
            using var vm = new VfioContainer(core, "vm");
            vm.AttachGroup(nic.Group!);
            vm.AttachGroup(wq.Group!);
            IommuDomain domain = Assert.Single(vm.Domains);
            uint pasid = core.AuxGetPasid(domain, parent);
            vm.MapDma(0, 0x40_0000_0000, 0x20_0000, DmaProtection.ReadWrite);
            vm.MapDma(0x20_0000, 0x50_0000_0000 + (ulong)round * 0x1000, 0x1000 * 16, DmaProtection.Read);
            Probe(null, nic);
            Probe(pasid, parent);
            vm.UnmapDma(0x20_0000, 0x1000 * 16);
            Probe(null, nic);
            Probe(pasid, parent);
            vm.DetachGroup(wq.Group!);
            Probe(pasid, parent);
            Probe(null, nic);
        }
        IommuDomain dma = core.DomainAlloc(IommuDomainType.Unmanaged);
        core.AttachDevice(dma, nic);
        dma.Map(0x1000, 0x9000_0000, 0x4000, DmaProtection.ReadWrite);
        Probe(null, nic);
        dma.Unmap(0x2000, 0x1000);
        Probe(null, nic);
        core.DetachDevice(dma, nic);
        Probe(null, nic);

        Assert.All(sanitizers, s => Assert.Empty(s.GetReports()));
    }

    /// <summary>Our own walk to the leaf entry of <paramref name="iova"/> (9 bits per level from bit 12).</summary>
    private static ulong LeafPteAddress(PhysicalMemory memory, ulong root, int levels, ulong iova)
    {
        ulong table = root;
        for (int level = levels; ; level--)
        {
            ulong at = table + ((iova >> (12 + 9 * (level - 1))) & 511) * 8;
            ulong entry = memory.ReadUInt64(at);
            if (level == 1 || (entry & 0x80) != 0 || (entry & 3) == 0)
                return at;
            table = entry & 0x000F_FFFF_FFFF_F000UL;
        }
    }
}
