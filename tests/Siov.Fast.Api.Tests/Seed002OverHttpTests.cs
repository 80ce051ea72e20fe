using System.Net;
using System.Text.Json;

namespace Siov.Fast.Api.Tests;

/// <summary>
/// Seed 002 over HTTP only: a PASID-capable parent with three work queues. WQ1 is the parent driver's
/// own (default DMA domain); WQ2 an mdev of VM1 (aux domain, PASID p2) next to VM1's NIC; WQ3 an mdev of
/// VM2 (PASID p3). The engine-level twin is SeedScenarioTests.Seed002_ThreeWorkQueues_TwoVms_IsolatedByPasid.
/// </summary>
public sealed class Seed002OverHttpTests : ApiTestHost
{
    private const ulong Vm1Memory = 0x40_0000_0000;
    private const ulong Vm2Memory = 0x50_0000_0000;
    private const ulong GuestRam = 64UL << 20;

    [Fact]
    public async Task Seed002_ThreeWorkQueues_TwoVms_IsolatedByPasid()
    {
        // The parent: aux on, and WQ1's buffer in its default DMA domain.
        await ReadJsonAsync(await PostAsync("/devices/01:00.0/features/aux"));
        int parentDomain = await DeviceDomainAsync("01:00.0");
        Assert.Equal("DMA", (await GetJsonAsync($"/domains/{parentDomain}")).GetProperty("type").GetString());
        await ReadJsonAsync(await PostAsync($"/domains/{parentDomain}/mappings", """{"iova":"0xf0000000","hpa":"0x70000000","size":"0x1000","prot":"rw"}"""), HttpStatusCode.Created);

        // Two mdevs of idxd-wq: WQ2 (A) and WQ3 (B), each alone in a group.
        JsonElement a = await ReadJsonAsync(await PostAsync("/mdevs", """{"parent":"01:00.0","type":"idxd-wq","uuid":"11111111-0000-0000-0000-000000000002"}"""), HttpStatusCode.Created);
        JsonElement b = await ReadJsonAsync(await PostAsync("/mdevs", """{"parent":"01:00.0","type":"idxd-wq","uuid":"11111111-0000-0000-0000-000000000003"}"""), HttpStatusCode.Created);
        int groupA = a.GetProperty("group").GetInt32(), groupB = b.GetProperty("group").GetInt32();
        int nicGroup = await DeviceGroupAsync("02:00.0");

        // VM1: the NIC's group and mdev A's group, guest RAM mapped; VM2: mdev B.
        int vm1 = (await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        await ReadJsonAsync(await PostAsync($"/containers/{vm1}/groups", $$"""{"group":{{nicGroup}}}"""));
        JsonElement vm1State = await ReadJsonAsync(await PostAsync($"/containers/{vm1}/groups", $$"""{"group":{{groupA}}}"""));
        await ReadJsonAsync(await PostAsync($"/containers/{vm1}/dma", $$"""{"iova":"0x0","hpa":"0x{{Vm1Memory:x}}","size":"0x{{GuestRam:x}}","prot":"rw"}"""), HttpStatusCode.Created);
        int vm2 = (await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        JsonElement vm2State = await ReadJsonAsync(await PostAsync($"/containers/{vm2}/groups", $$"""{"group":{{groupB}}}"""));
        await ReadJsonAsync(await PostAsync($"/containers/{vm2}/dma", $$"""{"iova":"0x0","hpa":"0x{{Vm2Memory:x}}","size":"0x{{GuestRam:x}}","prot":"rw"}"""), HttpStatusCode.Created);

        // VM1's NIC and mdev share one domain: primary for the NIC, aux (PASID) on the parent.
        int vm1Domain = Assert.Single(vm1State.GetProperty("domains").EnumerateArray()).GetInt32();
        int vm2Domain = Assert.Single(vm2State.GetProperty("domains").EnumerateArray()).GetInt32();
        Assert.Equal(vm1Domain, await DeviceDomainAsync("02:00.0"));
        Assert.Equal(vm1Domain, (await GetJsonAsync("/mdevs/11111111-0000-0000-0000-000000000002")).GetProperty("domain").GetInt32());
        Assert.Equal(parentDomain, await DeviceDomainAsync("01:00.0"));

        // Each domain's PASID, read two ways: the parent's PASID table and the domain itself.
        JsonElement[] pasids = [.. (await GetJsonAsync("/devices/01:00.0")).GetProperty("pasids").EnumerateArray()];
        uint p2 = pasids.Single(p => p.GetProperty("domain").GetInt32() == vm1Domain).GetProperty("pasid").GetUInt32();
        uint p3 = pasids.Single(p => p.GetProperty("domain").GetInt32() == vm2Domain).GetProperty("pasid").GetUInt32();
        Assert.All(pasids, p => Assert.True(p.GetProperty("aux").GetBoolean()));
        Assert.Equal(p2, (await GetJsonAsync($"/domains/{vm1Domain}")).GetProperty("pasid").GetUInt32());
        Assert.Equal(p3, (await GetJsonAsync($"/domains/{vm2Domain}")).GetProperty("pasid").GetUInt32());
        Assert.NotEqual(0u, p2);
        Assert.NotEqual(0u, p3);
        Assert.NotEqual(p2, p3);

        // DMA tagged p2 reaches VM1's memory, p3 VM2's, the NIC (no PASID) VM1's; WQ1 (no PASID) its own buffer.
        Assert.Equal($"0x{Vm1Memory + 0x12345:x}", HpaOf(await TranslateAsync("01:00.0", p2, 0x12345, "write")));
        Assert.Equal($"0x{Vm2Memory + 0x12345:x}", HpaOf(await TranslateAsync("01:00.0", p3, 0x12345, "write")));
        Assert.Equal($"0x{Vm1Memory + 0x12345:x}", HpaOf(await TranslateAsync("02:00.0", null, 0x12345)));
        Assert.Equal("0x70000010", HpaOf(await TranslateAsync("01:00.0", null, 0xF000_0010)));
        Assert.Equal("0x79", FaultOf(await TranslateAsync("01:00.0", null, 0x12345)).Code);

        // An unknown PASID, an unmapped IOVA, a detached mdev: each faults with its reason.
        uint unknown = Math.Max(p2, p3) + 1;
        Assert.Equal("0x59", FaultOf(await TranslateAsync("01:00.0", unknown, 0x1000)).Code);
        Assert.Equal("0x79", FaultOf(await TranslateAsync("01:00.0", p3, GuestRam)).Code);
        using (HttpResponseMessage detached = await DeleteAsync($"/containers/{vm1}/groups/{groupA}"))
            Assert.Equal(HttpStatusCode.NoContent, detached.StatusCode);
        Assert.Equal("0x59", FaultOf(await TranslateAsync("01:00.0", p2, 0x12345, "write")).Code);
        Assert.Equal($"0x{Vm1Memory + 0x12345:x}", HpaOf(await TranslateAsync("02:00.0", null, 0x12345)));
        Assert.Equal($"0x{Vm2Memory + 0x12345:x}", HpaOf(await TranslateAsync("01:00.0", p3, 0x12345, "write")));

        // The fault log holds them as Linux prints them.
        using HttpResponseMessage linux = await GetAsync("/faults?format=linux");
        Assert.Equal(HttpStatusCode.OK, linux.StatusCode);
        string[] lines = (await ReadBodyAsync(linux)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains($"DMAR: [DMA Read PASID 0x{unknown:x}] Request device [01:00.0] fault addr 0x1000 [fault reason 0x59] SM: Present bit in PASID Table Entry is clear", lines);
        Assert.Contains($"DMAR: [DMA Write PASID 0x{p2:x}] Request device [01:00.0] fault addr 0x12000 [fault reason 0x59] SM: Present bit in PASID Table Entry is clear", lines);
        Assert.Contains($"DMAR: [DMA Read PASID 0x{p3:x}] Request device [01:00.0] fault addr 0x{GuestRam:x} [fault reason 0x79] SM: Read/Write permission error in second-level paging entry", lines);
        Assert.Contains("DMAR: [DMA Read NO_PASID] Request device [01:00.0] fault addr 0x12000 [fault reason 0x79] SM: Read/Write permission error in second-level paging entry", lines);
    }
}
