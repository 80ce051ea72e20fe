using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.Platforms;
using Siov.Fast.Vfio;

namespace Siov.Fast.Tests;

/// <summary>The README's IOMMU object-model example, with each of its comments asserted.</summary>
public class ReadmeIommuExampleTests
{
    [Fact]
    public void IommuExample_BehavesAsTheReadmeSays()
    {
        using var platform = ModelledPlatform.CreateDefault();
        IommuCore core = platform.Core;
        PciDevice parent = core.FindPciDevice(PciAddress.Parse("01:00.0"))!;
        core.DevEnableFeature(parent, IommuDevFeature.Aux);

        MediatedDevice wq = core.MdevCreate(parent, "idxd-wq", Guid.NewGuid());
        Assert.Same(wq, Assert.Single(wq.Group!.Devices));
        Assert.Same(parent, wq.IommuDevice);
        using var vm = new VfioContainer(core);
        vm.AttachGroup(wq.Group!);
        vm.MapDma(iova: 0x0, hpa: 0x40_0000_0000, size: 0x100_0000, DmaProtection.ReadWrite);

        IommuDomain domain = core.GetDomainForDevice(wq)!;
        Assert.True(domain.IsAux);
        uint pasid = core.AuxGetPasid(domain, parent);
        Assert.Equal(1u, pasid);
        TranslationResult hit = parent.Translate(pasid, 0x1234, DmaAccess.Write);
        Assert.Equal((0x40_0000_1234UL, 0x20_0000UL), (hit.Hpa, hit.PageSize));
        TranslationResult miss = parent.Translate(pasid + 1, 0x1234, DmaAccess.Read);
        Assert.Equal(FaultReason.SmPasidEntryNotPresent, miss.Fault);
        Assert.Equal("DMAR: [DMA Read PASID 0x2] Request device [01:00.0] fault addr 0x1000 [fault reason 0x59] SM: Present bit in PASID Table Entry is clear",
            ((RemappingUnit)parent.Unit).Faults.ReadAll()[0].ToLinuxString());
    }
}
