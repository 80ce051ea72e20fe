using System.Net;
using System.Text.Json;

namespace Siov.Fast.Api.Tests;

/// <summary>
/// The server on the Arm platform (<c>--platform arm-demo</c>): one SMMUv3 driven by arm-smmu-v3. Seed 002 runs over the
/// same calls as on VT-d, with seed 004's rules showing: the VFIO container that holds the NIC and a work queue needs two
/// domains, and a domain keeps its first attach mode. Faults are SMMUv3 EventIDs with the architecture's names.
/// </summary>
public sealed class ArmDemoApiTests() : ApiTestHost(("Siov:Platform", "arm-demo"))
{
    private const ulong Vm1Memory = 0x40_0000_0000;
    private const ulong Vm2Memory = 0x50_0000_0000;
    private const ulong GuestRam = 64UL << 20;

    [Fact]
    public async Task Platform_IsOneSmmuV3WithItsIdRegisters()
    {
        JsonElement platform = await GetJsonAsync("/platform");
        Assert.Equal("arm-demo", platform.GetProperty("name").GetString());
        JsonElement unit = Assert.Single(platform.GetProperty("units").EnumerateArray());
        Assert.Equal("smmu3.0x0000000009050000", unit.GetProperty("name").GetString());
        Assert.Equal("arm-smmuv3", unit.GetProperty("vendor").GetString());
        Assert.Equal("0x9050000", unit.GetProperty("register_base").GetString());
        Assert.False(unit.TryGetProperty("cap", out _));                 // VT-d's CAP_REG: not an SMMU's
        string[] idr = [.. unit.GetProperty("idr").EnumerateArray().Select(e => e.GetString()!)];
        Assert.Equal(6, idr.Length);
        // SMMU_IDR1 by hand (IHI 0070 6.3.2): SIDSIZE 16 (bits 5:0), SSIDSIZE 20 (10:6), EVENTQS 19 (20:16), CMDQS 19 (25:21).
        Assert.Equal("0x2730510", idr[1]);
        Assert.Equal(20, unit.GetProperty("pasid_width").GetInt32());
        Assert.Equal(65536, unit.GetProperty("domain_ids").GetInt32());
        Assert.Equal("smmu3.0x0000000009050000", (await GetJsonAsync("/devices/02:00.0")).GetProperty("unit").GetString());
    }

    [Fact]
    public async Task Seed002_OnSmmuV3_TheContainerFallsBackToASecondDomain()
    {
        await ReadJsonAsync(await PostAsync("/devices/01:00.0/features/aux"));
        int parentDomain = await DeviceDomainAsync("01:00.0");
        await ReadJsonAsync(await PostAsync($"/domains/{parentDomain}/mappings", """{"iova":"0xf0000000","hpa":"0x70000000","size":"0x1000","prot":"rw"}"""), HttpStatusCode.Created);
        JsonElement a = await ReadJsonAsync(await PostAsync("/mdevs", """{"parent":"01:00.0","type":"idxd-wq","uuid":"11111111-0000-0000-0000-000000000002"}"""), HttpStatusCode.Created);
        JsonElement b = await ReadJsonAsync(await PostAsync("/mdevs", """{"parent":"01:00.0","type":"idxd-wq","uuid":"11111111-0000-0000-0000-000000000003"}"""), HttpStatusCode.Created);
        int groupA = a.GetProperty("group").GetInt32(), groupB = b.GetProperty("group").GetInt32();
        int nicGroup = await DeviceGroupAsync("02:00.0");

        int vm1 = (await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        await ReadJsonAsync(await PostAsync($"/containers/{vm1}/groups", $$"""{"group":{{nicGroup}}}"""));
        await ReadJsonAsync(await PostAsync($"/containers/{vm1}/dma", $$"""{"iova":"0x0","hpa":"0x{{Vm1Memory:x}}","size":"0x{{GuestRam:x}}","prot":"rw"}"""), HttpStatusCode.Created);
        JsonElement vm1State = await ReadJsonAsync(await PostAsync($"/containers/{vm1}/groups", $$"""{"group":{{groupA}}}"""));
        int vm2 = (await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        await ReadJsonAsync(await PostAsync($"/containers/{vm2}/groups", $$"""{"group":{{groupB}}}"""));
        await ReadJsonAsync(await PostAsync($"/containers/{vm2}/dma", $$"""{"iova":"0x0","hpa":"0x{{Vm2Memory:x}}","size":"0x{{GuestRam:x}}","prot":"rw"}"""), HttpStatusCode.Created);

        // Seed 004: the NIC's domain is normal and stays so; the work queue gets a second (aux) domain, mappings replayed.
        int[] vm1Domains = [.. vm1State.GetProperty("domains").EnumerateArray().Select(d => d.GetInt32())];
        Assert.Equal(2, vm1Domains.Length);
        int nicDomain = await DeviceDomainAsync("02:00.0");
        int wqDomain = (await GetJsonAsync("/mdevs/11111111-0000-0000-0000-000000000002")).GetProperty("domain").GetInt32();
        Assert.Equal(vm1Domains.Order(), new[] { nicDomain, wqDomain }.Order());
        Assert.Equal(parentDomain, await DeviceDomainAsync("01:00.0"));
        JsonElement[] pasids = [.. (await GetJsonAsync("/devices/01:00.0")).GetProperty("pasids").EnumerateArray()];
        uint p2 = pasids.Single(p => p.GetProperty("domain").GetInt32() == wqDomain).GetProperty("pasid").GetUInt32();
        uint p3 = pasids.Single(p => p.GetProperty("domain").GetInt32() != wqDomain).GetProperty("pasid").GetUInt32();

        // SubstreamIDs reach each VM's memory, the NIC (no SubstreamID) VM1's, WQ1 its own buffer through CD 0.
        Assert.Equal($"0x{Vm1Memory + 0x12345:x}", HpaOf(await TranslateAsync("01:00.0", p2, 0x12345, "write")));
        Assert.Equal($"0x{Vm2Memory + 0x12345:x}", HpaOf(await TranslateAsync("01:00.0", p3, 0x12345, "write")));
        Assert.Equal($"0x{Vm1Memory + 0x12345:x}", HpaOf(await TranslateAsync("02:00.0", null, 0x12345)));
        Assert.Equal("0x70000010", HpaOf(await TranslateAsync("01:00.0", null, 0xF000_0010)));
        Assert.Equal(("0x10", "F_TRANSLATION"), FaultOf(await TranslateAsync("01:00.0", null, 0x12345)));
        Assert.Equal(("0x10", "F_TRANSLATION"), FaultOf(await TranslateAsync("01:00.0", p3, GuestRam)));
        Assert.Equal(("0x0a", "C_BAD_CD"), FaultOf(await TranslateAsync("01:00.0", Math.Max(p2, p3) + 1, 0x1000)));

        // Detaching WQ2 clears its CD in the parent's CD table.
        using (HttpResponseMessage detached = await DeleteAsync($"/containers/{vm1}/groups/{groupA}"))
            Assert.Equal(HttpStatusCode.NoContent, detached.StatusCode);
        Assert.Equal(("0x0a", "C_BAD_CD"), FaultOf(await TranslateAsync("01:00.0", p2, 0x12345, "write")));
        Assert.Equal($"0x{Vm2Memory + 0x12345:x}", HpaOf(await TranslateAsync("01:00.0", p3, 0x12345, "write")));

        // The events, as Linux's arm_smmu_evtq_thread prints them.
        string log = await (await GetAsync("/faults?format=linux")).Content.ReadAsStringAsync();
        Assert.Contains("arm-smmu-v3.0.auto: event 0x10 received:", log, StringComparison.Ordinal);
        Assert.Contains("arm-smmu-v3.0.auto: event 0x0a received:", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Seed004_TheModeSticksAndAnAuxDomainHasOneParent()
    {
        await ReadJsonAsync(await PostAsync("/devices/01:00.0/features/aux"));
        int aux = (await ReadJsonAsync(await PostAsync("/domains", """{"type":"UNMANAGED"}"""), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        JsonElement attached = await ReadJsonAsync(await PostAsync($"/domains/{aux}/attachments", """{"device":"01:00.0","aux":true}"""));
        Assert.True(attached.GetProperty("pasid").GetUInt32() > 0);
        using (HttpResponseMessage detached = await DeleteAsync($"/domains/{aux}/attachments?device=01:00.0&aux=true"))
            Assert.Equal(HttpStatusCode.NoContent, detached.StatusCode);
        // Aux once, aux for life: a normal attach is refused, and the domain says why.
        await ReadProblemAsync(await PostAsync($"/domains/{aux}/attachments", """{"device":"02:00.0"}"""), HttpStatusCode.Conflict, "EPERM", "sticky");

        int normal = (await ReadJsonAsync(await PostAsync("/domains", """{"type":"UNMANAGED"}"""), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        await ReadJsonAsync(await PostAsync($"/domains/{normal}/attachments", """{"device":"02:00.0"}"""));
        await ReadProblemAsync(await PostAsync($"/domains/{normal}/attachments", """{"device":"01:00.0","aux":true}"""), HttpStatusCode.Conflict, "EPERM", "sticky");
    }

    [Fact]
    public async Task Iommufd_HwInfo_IsTheSmmusIdRegisters()
    {
        int ctx = (await ReadJsonAsync(await PostAsync("/iommufd"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        uint nic = (await ReadJsonAsync(await PostAsync($"/iommufd/{ctx}/devices", """{"device":"02:00.0"}"""), HttpStatusCode.Created)).GetProperty("id").GetUInt32();
        JsonElement info = await GetJsonAsync($"/iommufd/{ctx}/devices/{nic}/hw-info");
        Assert.Equal("arm_smmuv3", info.GetProperty("type").GetString());
        Assert.Equal(2u, info.GetProperty("data_type").GetUInt32());               // IOMMU_HW_INFO_TYPE_ARM_SMMUV3
        Assert.False(info.TryGetProperty("cap_reg", out _));
        string[] idr = [.. info.GetProperty("idr").EnumerateArray().Select(e => e.GetString()!)];
        Assert.Equal("0x2730510", idr[1]);                                          // as /platform's SMMU_IDR1 (by hand there)
        Assert.Equal("0x43b", info.GetProperty("iidr").GetString());               // SMMU_IIDR: implementer Arm (0x43B)
        Assert.False(info.GetProperty("dirty_tracking").GetBoolean());
    }

    [Fact]
    public async Task Sanitizer_CoversTheSmmu_AndFindsNothingStaleInSeed004()
    {
        JsonElement[] on = [.. (await ReadJsonAsync(await PostAsync("/sanitizer"))).EnumerateArray()];
        Assert.Equal("smmu3.0x0000000009050000", Assert.Single(on).GetProperty("unit").GetString());
        Assert.True(on[0].GetProperty("enabled").GetBoolean());
        await ReadJsonAsync(await PostAsync("/devices/01:00.0/features/aux"));
        int aux = (await ReadJsonAsync(await PostAsync("/domains", """{"type":"UNMANAGED"}"""), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        uint pasid = (await ReadJsonAsync(await PostAsync($"/domains/{aux}/attachments", """{"device":"01:00.0","aux":true}"""))).GetProperty("pasid").GetUInt32();
        await ReadJsonAsync(await PostAsync($"/domains/{aux}/mappings", """{"iova":"0x1000","hpa":"0x80000000","size":"0x1000","prot":"rw"}"""), HttpStatusCode.Created);
        for (int i = 0; i < 3; i++)
            Assert.Equal("0x80000010", (await TranslateAsync("01:00.0", pasid, 0x1010)).GetProperty("hpa").GetString());
        using (HttpResponseMessage unmapped = await DeleteAsync($"/domains/{aux}/mappings?iova=0x1000&size=0x1000"))
            Assert.True(unmapped.IsSuccessStatusCode);
        Assert.Equal(("0x10", "F_TRANSLATION"), FaultOf(await TranslateAsync("01:00.0", pasid, 0x1010)));
        JsonElement after = Assert.Single((await GetJsonAsync("/sanitizer")).EnumerateArray());
        Assert.True(after.GetProperty("comparisons").GetInt64() > 0);
        Assert.Equal(0, after.GetProperty("stale_translations").GetInt64());
    }

    /// <summary>The NIC and the accelerator's own function share one unmanaged domain; a work queue of the accelerator goes
    /// to a VM as an aux domain whose parent is that domain. The NIC's DMA tagged with the VM's PASID must not reach the VM's
    /// memory: the aux domain's CD is in the accelerator's CD table only (seed 004's shared per-domain CD table let it
    /// through).</summary>
    [Fact]
    public async Task AnotherDeviceOfTheParentDomainCannotReachAnAuxDomain()
    {
        await ReadJsonAsync(await PostAsync("/devices/01:00.0/features/aux"));
        int shared = (await ReadJsonAsync(await PostAsync("/domains", """{"type":"UNMANAGED"}"""), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        await ReadJsonAsync(await PostAsync($"/domains/{shared}/attachments", """{"device":"02:00.0"}"""));
        await ReadJsonAsync(await PostAsync($"/domains/{shared}/attachments", """{"device":"01:00.0"}"""));
        await ReadJsonAsync(await PostAsync($"/domains/{shared}/mappings", """{"iova":"0x0","hpa":"0x4000000000","size":"0x100000","prot":"rw"}"""), HttpStatusCode.Created);
        JsonElement wq = await ReadJsonAsync(await PostAsync("/mdevs", """{"parent":"01:00.0","type":"idxd-wq","uuid":"22222222-0000-0000-0000-000000000001"}"""), HttpStatusCode.Created);
        int vm = (await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        await ReadJsonAsync(await PostAsync($"/containers/{vm}/groups", $$"""{"group":{{wq.GetProperty("group").GetInt32()}}}"""));
        await ReadJsonAsync(await PostAsync($"/containers/{vm}/dma", """{"iova":"0x0","hpa":"0x5000000000","size":"0x100000","prot":"rw"}"""), HttpStatusCode.Created);
        uint pasid = Assert.Single((await GetJsonAsync("/devices/01:00.0")).GetProperty("pasids").EnumerateArray()).GetProperty("pasid").GetUInt32();

        Assert.Equal("0x5000001234", HpaOf(await TranslateAsync("01:00.0", pasid, 0x1234)));   // the work queue: the VM's
        Assert.Equal("0x4000001234", HpaOf(await TranslateAsync("02:00.0", null, 0x1234)));    // the NIC: the shared domain
        Assert.Equal(("0x0a", "C_BAD_CD"), FaultOf(await TranslateAsync("02:00.0", pasid, 0x1234))); // not the VM's through the NIC
    }
}
