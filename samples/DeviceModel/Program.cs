// A device model embedding Siov.Fast from its NuGet package: it builds a page table and a platform,
// maps pages, sends DMA through the remapping hardware and checks every translation it gets back.
// Prints a short summary; exits 0 when every translation is what the mappings say, 1 otherwise.
using Siov.Fast;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;
using Siov.Fast.Platforms;

int wrong = 0;
void Check(bool ok, string what)
{
    if (!ok)
    {
        wrong++;
        Console.Error.WriteLine($"DeviceModel: wrong: {what}");
    }
}

// 1. A second-level page table on its own (the package README's first example).
using (var memory = new PhysicalMemory(64UL << 20))
using (var table = new SecondLevelPageTable(memory))
{
    table.Map(iova: 0x1_0000_0000, hpa: 0x100_0000_0000, size: 0x40_2000, DmaProtection.ReadWrite);
    WalkResult hit = table.Walk(0x1_0000_1234, DmaAccess.Write);
    WalkResult miss = table.Walk(0x2_0000_0000, DmaAccess.Read);
    ulong unmapped = table.Unmap(0x1_0000_0000, 0x1000);
    bool exists = false;
    try { table.Map(0x1_0040_0000, 0x5000, 0x1000, DmaProtection.Read); }
    catch (IommuException e) when (e.Code == Errno.EEXIST) { exists = true; }

    Check(hit.Status == WalkStatus.Success && hit.Hpa == 0x100_0000_1234 && hit.PageSize == 0x20_0000, $"walk hit {hit.Status} 0x{hit.Hpa:x}");
    Check(miss.Status == WalkStatus.NotPresent && miss.Level == 3, $"walk miss {miss.Status} at level {miss.Level}");
    Check(unmapped == 0x20_0000, $"unmap returned 0x{unmapped:x}");
    Check(exists, "a map over a mapped page did not fail with EEXIST");
    Console.WriteLine($"page table: hit 0x{hit.Hpa:x} in a 0x{hit.PageSize:x} page, miss {miss.Status} at level {miss.Level}, unmap 0x{unmapped:x}, overlap EEXIST");
}

// 2. A platform: a NIC's group attached to an UNMANAGED domain, 4 KiB pages mapped, DMA through its unit.
using var platform = ModelledPlatform.CreateDefault();
IommuCore core = platform.Core;
PciDevice nic = core.FindPciDevice(PciAddress.Parse("02:00.0"))!;
IommuDomain domain = core.DomainAlloc(IommuDomainType.Unmanaged);
core.AttachGroup(domain, nic.Group!);

const int Pages = 256;
const ulong IovaBase = 0x10_0000, HpaBase = 0x40_0000_0000;
for (int page = 0; page < Pages; page++)
{
    // Every other page, scattered in HPA as a guest's buffers are: page p goes to frame (p * 7) mod 256.
    ulong iova = IovaBase + ((ulong)page << 13), hpa = HpaBase + ((ulong)(page * 7 % Pages) << 12);
    domain.Map(iova, hpa, 0x1000, DmaProtection.ReadWrite);
}

var unit = (RemappingUnit)nic.Unit;         // the default platform's IOMMUs are VT-d remapping units
TranslationPort port = unit.OpenPort();     // one per device-model thread
int translated = 0, faults = 0;
for (int page = 0; page < Pages; page++)
{
    ulong iova = IovaBase + ((ulong)page << 13) + (ulong)(page * 8 % 0x1000);
    ulong expected = HpaBase + ((ulong)(page * 7 % Pages) << 12) + (ulong)(page * 8 % 0x1000);
    TranslationResult mapped = port.Translate(new DmaRequest(nic.RequesterId, pasid: null, iova, DmaAccess.Write));
    Check(mapped.IsSuccess && mapped.Hpa == expected, $"IOVA 0x{iova:x}: {mapped}, expected HPA 0x{expected:x}");
    translated++;

    TranslationResult hole = port.Translate(new DmaRequest(nic.RequesterId, pasid: null, iova + 0x1000, DmaAccess.Read));
    Check(!hole.IsSuccess, $"IOVA 0x{iova + 0x1000:x} is not mapped but translated to {hole}");
    if (!hole.IsSuccess)
        faults++;
}

ulong unmappedBytes = domain.Unmap(IovaBase, 0x1000);
TranslationResult afterUnmap = port.Translate(new DmaRequest(nic.RequesterId, pasid: null, IovaBase, DmaAccess.Read));
Check(unmappedBytes == 0x1000 && !afterUnmap.IsSuccess, $"IOVA 0x{IovaBase:x} after unmap: {afterUnmap}");

Console.WriteLine($"platform {platform.Name}: {nic.Name} in domain {domain.Id}, {Pages} pages mapped, " +
                  $"{translated} DMAs translated, {faults} unmapped DMAs faulted, unmap invalidated the IOTLB");
Console.WriteLine(wrong == 0 ? "DeviceModel: OK" : $"DeviceModel: {wrong} wrong translation(s)");
return wrong == 0 ? 0 : 1;
