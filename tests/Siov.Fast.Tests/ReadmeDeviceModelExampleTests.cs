using Siov.Fast.Ats;
using Siov.Fast.Devices;
using Siov.Fast.Iommu;
using Siov.Fast.Platforms;

namespace Siov.Fast.Tests;

/// <summary>The README's device-model example (ATS, PRI, a work queue), with each of its comments asserted.</summary>
public class ReadmeDeviceModelExampleTests
{
    [Fact]
    public void DeviceModelExample_BehavesAsTheReadmeSays()
    {
        using var platform = ModelledPlatform.CreateDefault();
        IommuCore core = platform.Core;
        PciDevice function = core.FindPciDevice(PciAddress.Parse("01:00.0"))!;
        Assert.True(function.AtsEnabled);
        IommuDomain domain = core.DomainAlloc(IommuDomainType.Unmanaged);
        core.AttachDevicePasid(domain, function, 5);
        domain.IopfHandler = group =>
        {
            foreach (PageRequest request in group.Requests)
                domain.Map(request.Address, platform.Memory.Frames.Allocate(), 0x1000, DmaProtection.ReadWrite);
            group.Respond(PageResponseCode.Success);
        };
        using var accelerator = new Accelerator(function, platform.Memory);
        WorkQueue queue = accelerator.CreateWorkQueue(5);
        CompletionRecord done = queue.Submit(WorkDescriptor.Fill(0x10_0000, 0x2000, 0x5A5A));
        Assert.Equal(new CompletionRecord(CompletionStatus.Success, 0x2000, 0, 2), done);
        CompletionRecord again = queue.Submit(WorkDescriptor.Fill(0x10_0000, 0x2000, 0x5A5A));
        Assert.Equal(0, again.PageRequests);
        Assert.Equal(4, accelerator.Atc.TranslationRequests); // 2 before the page requests, 2 after; none the second time
        ulong hpa = function.Translate(5, 0x10_1FF8, DmaAccess.Read).Hpa;
        Assert.Equal(0x5A5AUL, platform.Memory.ReadUInt64(hpa));
    }
}
