using System.Net;
using System.Text.Json;

namespace Siov.Fast.Api.Tests.Hardening;

/// <summary>
/// Defects 1-3 of the hostile-client review: a container's groups and domains belong to it (VFIO claims DMA
/// ownership), closing a container is atomic and complete, and GETs never fail under concurrent changes.
/// The state is the README's seed 002 session: container 1 holds NIC group 4 and mdev group 7 on one domain.
/// </summary>
public sealed class OwnershipTests : ApiTestHost
{
    private const string MdevA = "22222222-0000-0000-0000-00000000000a";

    /// <summary>Seed 002's VM1: returns (container, domain, mdev group, NIC group).</summary>
    private async Task<(int Container, int Domain, int MdevGroup, int NicGroup)> Vm1Async()
    {
        await ReadJsonAsync(await PostAsync("/devices/01:00.0/features/aux"));
        int mdevGroup = (await ReadJsonAsync(await PostAsync("/mdevs", $$"""{"parent":"01:00.0","type":"idxd-wq","uuid":"{{MdevA}}"}"""), HttpStatusCode.Created))
            .GetProperty("group").GetInt32();
        int nicGroup = await DeviceGroupAsync("02:00.0");
        int container = (await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        await ReadJsonAsync(await PostAsync($"/containers/{container}/groups", $$"""{"group":{{nicGroup}}}"""));
        JsonElement state = await ReadJsonAsync(await PostAsync($"/containers/{container}/groups", $$"""{"group":{{mdevGroup}}}"""));
        await ReadJsonAsync(await PostAsync($"/containers/{container}/dma", """{"iova":"0x0","hpa":"0x4000000000","size":"0x4000000","prot":"rw"}"""), HttpStatusCode.Created);
        int domain = Assert.Single(state.GetProperty("domains").EnumerateArray()).GetInt32();
        return (container, domain, mdevGroup, nicGroup);
    }

    private async Task<uint> Pasid1Async() =>
        Assert.Single((await GetJsonAsync("/devices/01:00.0")).GetProperty("pasids").EnumerateArray()).GetProperty("pasid").GetUInt32();

    [Fact]
    public async Task Defect1_ContainerGroupsAndDomains_AreClosedToDomainsApi()
    {
        (int container, int domain, int mdevGroup, int nicGroup) = await Vm1Async();
        string owner = $"container {container}";

        await ReadProblemAsync(await DeleteAsync($"/domains/{domain}/attachments?group={nicGroup}"), HttpStatusCode.Conflict, "EBUSY", owner);
        await ReadProblemAsync(await DeleteAsync($"/domains/{domain}/attachments?group={mdevGroup}&device=01:00.0&aux=true"), HttpStatusCode.Conflict, "EBUSY", owner);
        await ReadProblemAsync(await DeleteAsync($"/domains/{domain}/attachments?device=01:00.0&aux=true"), HttpStatusCode.Conflict, "EBUSY", owner);
        await ReadProblemAsync(await PostAsync($"/domains/{domain}/mappings", """{"iova":"0x10000000","hpa":"0x7000000000","size":"0x1000"}"""), HttpStatusCode.Conflict, "EBUSY", owner);
        await ReadProblemAsync(await PostAsync($"/domains/{domain}/mappings/batch", """{"mappings":[{"iova":"0x10000000","hpa":"0x7000000000","size":"0x1000"}]}"""), HttpStatusCode.Conflict, "EBUSY", owner);
        await ReadProblemAsync(await DeleteAsync($"/domains/{domain}/mappings?iova=0x0&size=0x1000"), HttpStatusCode.Conflict, "EBUSY", owner);
        await ReadProblemAsync(await DeleteAsync($"/domains/{domain}"), HttpStatusCode.Conflict, "EBUSY", owner);
        // The container's group cannot be moved to another domain either, nor attached at a PASID.
        int other = await CreateDomainAsync();
        await ReadProblemAsync(await PostAsync($"/domains/{other}/attachments", $$"""{"group":{{nicGroup}}}"""), HttpStatusCode.Conflict, "EBUSY", owner);
        await ReadProblemAsync(await PostAsync($"/domains/{domain}/attachments", """{"device":"01:00.0","aux":true}"""), HttpStatusCode.Conflict, "EBUSY", owner);

        // GETs show the owner; nothing changed.
        Assert.Equal(owner, (await GetJsonAsync($"/domains/{domain}")).GetProperty("owner").GetString());
        JsonElement group = await GetJsonAsync($"/groups/{nicGroup}");
        Assert.Equal(owner, group.GetProperty("owner").GetString());
        Assert.Equal(domain, group.GetProperty("domain").GetInt32());
        Assert.Equal("0x4000000000", (await GetJsonAsync("/translate?device=02:00.0&iova=0x0")).GetProperty("hpa").GetString());
        Assert.Equal("0x4000000", (await GetJsonAsync($"/domains/{domain}")).GetProperty("mapped_bytes").GetString());

        // Closing the container undoes everything: 204, then 404 and no change.
        uint pasid = await Pasid1Async();
        using (HttpResponseMessage closed = await DeleteAsync($"/containers/{container}"))
            Assert.Equal(HttpStatusCode.NoContent, closed.StatusCode);
        await ReadProblemAsync(await DeleteAsync($"/containers/{container}"), HttpStatusCode.NotFound, "ENOENT");
        Assert.False((await GetJsonAsync($"/translate?device=01:00.0&pasid={pasid}&iova=0x1000")).GetProperty("ok").GetBoolean());
        Assert.False((await GetJsonAsync("/translate?device=02:00.0&iova=0x0")).GetProperty("ok").GetBoolean()); // back on its empty DMA domain
        Assert.Empty((await GetJsonAsync("/devices/01:00.0")).GetProperty("pasids").EnumerateArray());
        Assert.False((await GetJsonAsync($"/groups/{nicGroup}")).GetProperty("in_container").GetBoolean());
        await ReadProblemAsync(await GetAsync($"/domains/{domain}"), HttpStatusCode.NotFound, "ENOENT");
        using (HttpResponseMessage removed = await DeleteAsync($"/mdevs/{MdevA}"))
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
    }

    [Fact]
    public async Task Defect1_DomainAttachedElsewhere_CannotBeDeleted()
    {
        int domain = await CreateDomainAsync();
        int nicGroup = await DeviceGroupAsync("02:00.0");
        await ReadJsonAsync(await PostAsync($"/domains/{domain}/attachments", $$"""{"group":{{nicGroup}}}"""));
        await ReadProblemAsync(await DeleteAsync($"/domains/{domain}"), HttpStatusCode.Conflict, "EBUSY");
        // A group attached to a non-default domain through /domains cannot be claimed by a container.
        int container = (await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        await ReadProblemAsync(await PostAsync($"/containers/{container}/groups", $$"""{"group":{{nicGroup}}}"""), HttpStatusCode.Conflict, "EBUSY");
    }

    [Fact]
    public async Task Defect2_CloseRacingAttach_LeavesNoOrphan()
    {
        await ReadJsonAsync(await PostAsync("/devices/01:00.0/features/aux"));
        int mdevGroup = (await ReadJsonAsync(await PostAsync("/mdevs", """{"parent":"01:00.0","type":"idxd-wq"}"""), HttpStatusCode.Created)).GetProperty("group").GetInt32();
        int nicGroup = await DeviceGroupAsync("02:00.0");
        for (int attempt = 0; attempt < 60; attempt++)
        {
            int container = (await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
            int group = attempt % 2 == 0 ? nicGroup : mdevGroup;
            Task<HttpResponseMessage> attach = PostAsync($"/containers/{container}/groups", $$"""{"group":{{group}}}""");
            Task<HttpResponseMessage> close = DeleteAsync($"/containers/{container}");
            using HttpResponseMessage attached = await attach, closed = await close;
            Assert.Equal(HttpStatusCode.NoContent, closed.StatusCode);
            Assert.True(attached.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound, $"attach answered {(int)attached.StatusCode}");
            // Whatever the order, the container is gone and so is its hold on the group.
            JsonElement g = await GetJsonAsync($"/groups/{group}");
            Assert.False(g.GetProperty("in_container").GetBoolean(), $"attempt {attempt}: {g}");
            Assert.Empty((await GetJsonAsync("/containers")).EnumerateArray());
            Assert.Empty((await GetJsonAsync("/devices/01:00.0")).GetProperty("pasids").EnumerateArray());
        }
    }

    [Fact]
    public async Task Defect3_DomainGets_NeverFail_UnderConcurrentAttachDetach()
    {
        int domain = await CreateDomainAsync();
        int nicGroup = await DeviceGroupAsync("02:00.0");
        using var stop = new CancellationTokenSource();
        Task churn = Task.Run(async () =>
        {
            for (int i = 0; i < 300; i++)
            {
                using HttpResponseMessage a = await PostAsync($"/domains/{domain}/attachments", $$"""{"group":{{nicGroup}}}""");
                Assert.Equal(HttpStatusCode.OK, a.StatusCode);
                using HttpResponseMessage d = await DeleteAsync($"/domains/{domain}/attachments?group={nicGroup}");
                Assert.Equal(HttpStatusCode.NoContent, d.StatusCode);
            }
            await stop.CancelAsync();
        });
        int reads = 0;
        while (!stop.IsCancellationRequested && reads < 5000)
        {
            using HttpResponseMessage one = await GetAsync($"/domains/{domain}");
            using HttpResponseMessage all = await GetAsync("/domains");
            Assert.Equal(HttpStatusCode.OK, one.StatusCode);
            Assert.Equal(HttpStatusCode.OK, all.StatusCode);
            JsonElement dto = JsonDocument.Parse(await one.Content.ReadAsStringAsync()).RootElement;
            // One snapshot: the DIDs and the groups agree (a DID exists exactly while the NIC is attached).
            Assert.Equal(dto.GetProperty("groups").GetArrayLength() > 0, dto.GetProperty("domain_ids").GetArrayLength() > 0);
            reads++;
        }
        await churn;
    }
}
