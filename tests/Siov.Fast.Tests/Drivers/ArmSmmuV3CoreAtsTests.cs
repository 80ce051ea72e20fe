using Siov.Fast.Ats;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.Tests.Iommu;

namespace Siov.Fast.Tests.Drivers;

/// <summary>
/// ATS behind an SMMUv3 through the vendor-neutral core: the core enables ATS at probe for an ATS-capable function
/// (<see cref="IIommuDriver.EnableDeviceAts"/>), which arm-smmu-v3 now accepts, and an unmap through the domain reaches
/// the function's ATC (the core's iotlb_sync is the driver's TLB and ATC invalidation), with the SMMU's sanitizer on.
/// </summary>
public sealed class ArmSmmuV3CoreAtsTests
{
    [Fact]
    public void AtsCapableFunctionsGetAtsAndTheirAtcFollowsUnmap()
    {
        using var f = new CoreFixture(IommuVendor.ArmSmmuV3);
        var smmu = (Smmu)f.Iommu;
        InvalidationSanitizer sanitizer = smmu.EnableSanitizer();
        PciDevice function = f.Pci("0000:01:00.0");                 // ATS and PRI capable
        PciDevice plain = f.Pci("0000:02:00.0", siov: false);
        Assert.True(function.AtsEnabled);
        Assert.False(plain.AtsEnabled);

        IommuDomain domain = f.Core.DomainAlloc(IommuDomainType.Unmanaged);
        f.Core.AttachDevice(domain, function);
        ulong page = f.Memory.Frames.Allocate();
        domain.Map(0x10_0000, page, 0x1000, DmaProtection.ReadWrite);
        using var atc = new DeviceTlb(smmu, function.SourceId, capacity: 64);
        var read = new DmaRequest(function.SourceId, null, 0x10_0010, DmaAccess.Read);
        Assert.Equal(AtcOutcome.Filled, atc.Translate(read, out TranslationResult filled));
        Assert.Equal(page + 0x10, filled.Hpa);
        Assert.Equal(AtcOutcome.Hit, atc.Translate(read, out _));

        domain.Unmap(0x10_0000, 0x1000);
        Assert.Equal(AtcOutcome.NotPresent, atc.Translate(read, out _));
        Assert.Empty(sanitizer.GetReports());
        Assert.True(sanitizer.Comparisons > 0);
    }
}
