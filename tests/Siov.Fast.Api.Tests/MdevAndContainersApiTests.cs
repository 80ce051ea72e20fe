using System.Net;
using System.Text.Json;

namespace Siov.Fast.Api.Tests;

/// <summary><c>/mdev/types</c>, <c>/mdevs</c> and <c>/containers</c>.</summary>
public sealed class MdevAndContainersApiTests : ApiTestHost
{
    private const string Uuid = "11111111-0000-0000-0000-000000000002";

    [Fact]
    public async Task MdevTypes_AllAndPerParent()
    {
        JsonElement all = await GetJsonAsync("/mdev/types");
        Assert.Equal(["idxd-wq", "nvidia-63"], all.EnumerateArray().Select(t => t.GetProperty("id").GetString()));
        JsonElement wq = all[0];
        Assert.Equal(8, wq.GetProperty("available_instances").GetInt32());
        Assert.True(wq.GetProperty("iommu_backed").GetBoolean());
        Assert.False(all[1].GetProperty("iommu_backed").GetBoolean());

        JsonElement gpu = await GetJsonAsync("/mdev/types?parent=04:00.0");
        Assert.Equal("nvidia-63", Assert.Single(gpu.EnumerateArray()).GetProperty("id").GetString());
        Assert.Empty((await GetJsonAsync("/mdev/types?parent=02:00.0")).EnumerateArray());
        await ReadProblemAsync(await GetAsync("/mdev/types?parent=zz"), HttpStatusCode.BadRequest, "EINVAL", "'zz'");
        await ReadProblemAsync(await GetAsync("/mdev/types?parent=09:00.0"), HttpStatusCode.NotFound, "ENOENT", "0000:09:00.0");
    }

    [Fact]
    public async Task Mdev_CreateGetListRemove()
    {
        using HttpResponseMessage response = await PostAsync("/mdevs", $$"""{"parent":"01:00.0","type":"idxd-wq","uuid":"{{Uuid}}"}""");
        JsonElement mdev = await ReadJsonAsync(response, HttpStatusCode.Created);
        Assert.Equal($"/mdevs/{Uuid}", response.Headers.Location?.OriginalString);
        Assert.Equal("0000:01:00.0", mdev.GetProperty("iommu_device").GetString());
        Assert.Equal("iommu", mdev.GetProperty("isolation").GetString());
        int group = mdev.GetProperty("group").GetInt32();
        Assert.Equal([$"{Uuid}"], (await GetJsonAsync($"/groups/{group}")).GetProperty("devices").EnumerateArray().Select(d => d.GetString()));

        Assert.Equal(group, (await GetJsonAsync($"/mdevs/{Uuid}")).GetProperty("group").GetInt32());
        Assert.Single((await GetJsonAsync("/mdevs")).EnumerateArray());
        Assert.Equal(7, (await GetJsonAsync("/mdev/types?parent=01:00.0"))[0].GetProperty("available_instances").GetInt32());

        using HttpResponseMessage removed = await DeleteAsync($"/mdevs/{Uuid}");
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.Empty((await GetJsonAsync("/mdevs")).EnumerateArray());
        await ReadProblemAsync(await GetAsync($"/mdevs/{Uuid}"), HttpStatusCode.NotFound, "ENOENT", Uuid);
        await ReadProblemAsync(await DeleteAsync($"/mdevs/{Uuid}"), HttpStatusCode.NotFound, "ENOENT", Uuid);
    }

    [Fact]
    public async Task Mdev_GeneratedUuid_VendorIsolated()
    {
        JsonElement mdev = await ReadJsonAsync(await PostAsync("/mdevs", """{"parent":"04:00.0","type":"nvidia-63"}"""), HttpStatusCode.Created);
        Assert.True(Guid.TryParse(mdev.GetProperty("uuid").GetString(), out _));
        Assert.False(mdev.TryGetProperty("iommu_device", out _));
        Assert.StartsWith("vendor-defined", mdev.GetProperty("isolation").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"parent":"01:00.0"}""", HttpStatusCode.BadRequest, "EINVAL", "'type'")]
    [InlineData("""{"type":"idxd-wq"}""", HttpStatusCode.BadRequest, "EINVAL", "'parent'")]
    [InlineData("""{"parent":"01:00.0","type":"idxd-wq","uuid":"xyz"}""", HttpStatusCode.BadRequest, "EINVAL", "field 'uuid' is 'xyz'")]
    [InlineData("""{"parent":"zz","type":"idxd-wq"}""", HttpStatusCode.BadRequest, "EINVAL", "field 'parent' is 'zz'")]
    [InlineData("""{"parent":"09:00.0","type":"idxd-wq"}""", HttpStatusCode.NotFound, "ENOENT", "09:00.0")]
    [InlineData("""{"parent":"01:00.0","type":"nope"}""", HttpStatusCode.NotFound, "ENOENT", "'nope'")]
    [InlineData("""{"parent":"02:00.0","type":"idxd-wq"}""", HttpStatusCode.NotFound, "ENOENT", "'idxd-wq'")]
    [InlineData("""{"parent":"01:00.0","type":"idxd-wq","uuid":"00000000-0000-0000-0000-000000000000"}""", HttpStatusCode.BadRequest, "EINVAL", "UUID is empty")]
    public async Task Mdev_BadCreate(string body, HttpStatusCode status, string code, string fragment)
    {
        await ReadProblemAsync(await PostAsync("/mdevs", body), status, code, fragment);
    }

    [Fact]
    public async Task Mdev_DuplicateAndExhausted_409()
    {
        string body = $$"""{"parent":"01:00.0","type":"idxd-wq","uuid":"{{Uuid}}"}""";
        await ReadJsonAsync(await PostAsync("/mdevs", body), HttpStatusCode.Created);
        await ReadProblemAsync(await PostAsync("/mdevs", body), HttpStatusCode.Conflict, "EEXIST", Uuid);
        for (int i = 0; i < 7; i++)
            await ReadJsonAsync(await PostAsync("/mdevs", """{"parent":"01:00.0","type":"idxd-wq"}"""), HttpStatusCode.Created);
        await ReadProblemAsync(await PostAsync("/mdevs", """{"parent":"01:00.0","type":"idxd-wq"}"""), HttpStatusCode.Conflict, "ENOSPC", "max 8");
    }

    [Fact]
    public async Task Mdev_MalformedUuid_400()
    {
        await ReadProblemAsync(await GetAsync("/mdevs/xyz"), HttpStatusCode.BadRequest, "EINVAL", "'xyz' is not a UUID");
        await ReadProblemAsync(await DeleteAsync("/mdevs/xyz"), HttpStatusCode.BadRequest, "EINVAL", "'xyz' is not a UUID");
    }

    [Fact]
    public async Task Mdev_RemoveWhileInContainer_409Ebusy()
    {
        await ReadJsonAsync(await PostAsync("/devices/01:00.0/features/aux"));
        JsonElement mdev = await ReadJsonAsync(await PostAsync("/mdevs", $$"""{"parent":"01:00.0","type":"idxd-wq","uuid":"{{Uuid}}"}"""), HttpStatusCode.Created);
        int container = (await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        await ReadJsonAsync(await PostAsync($"/containers/{container}/groups", $$"""{"group":{{mdev.GetProperty("group").GetInt32()}}}"""));
        await ReadProblemAsync(await DeleteAsync($"/mdevs/{Uuid}"), HttpStatusCode.Conflict, "EBUSY", Uuid);
    }

    [Fact]
    public async Task Container_CreateAttachMapUnmapDetachDelete()
    {
        using HttpResponseMessage response = await PostAsync("/containers");
        JsonElement created = await ReadJsonAsync(response, HttpStatusCode.Created);
        int id = created.GetProperty("id").GetInt32();
        Assert.Equal($"/containers/{id}", response.Headers.Location?.OriginalString);
        Assert.Empty(created.GetProperty("groups").EnumerateArray());

        int group = await DeviceGroupAsync("02:00.0");
        JsonElement attached = await ReadJsonAsync(await PostAsync($"/containers/{id}/groups", $$"""{"group":{{group}}}"""));
        Assert.Equal([group], attached.GetProperty("groups").EnumerateArray().Select(g => g.GetInt32()));
        int domain = Assert.Single(attached.GetProperty("domains").EnumerateArray()).GetInt32();
        Assert.True((await GetJsonAsync($"/groups/{group}")).GetProperty("in_container").GetBoolean());
        Assert.Equal(domain, await DeviceDomainAsync("02:00.0"));

        JsonElement mapped = await ReadJsonAsync(await PostAsync($"/containers/{id}/dma", """{"iova":"0x0","hpa":"0x4000000000","size":"0x200000","prot":"rw"}"""), HttpStatusCode.Created);
        Assert.Equal("0x4000000000", mapped.GetProperty("hpa").GetString());
        JsonElement one = await GetJsonAsync($"/containers/{id}");
        Assert.Equal("0x200000", Assert.Single(one.GetProperty("mappings").EnumerateArray()).GetProperty("size").GetString());
        Assert.Single((await GetJsonAsync("/containers")).EnumerateArray());
        Assert.Equal("0x4000000123", (await GetJsonAsync("/translate?device=02:00.0&iova=0x123")).GetProperty("hpa").GetString());

        await ReadProblemAsync(await DeleteAsync($"/containers/{id}/dma?iova=0x1000&size=0x1000"), HttpStatusCode.BadRequest, "EINVAL", "straddles");
        JsonElement unmapped = await ReadJsonAsync(await DeleteAsync($"/containers/{id}/dma?iova=0x0&size=0x200000"));
        Assert.Equal("0x200000", unmapped.GetProperty("unmapped").GetString());
        Assert.Empty((await GetJsonAsync($"/containers/{id}")).GetProperty("mappings").EnumerateArray());

        using HttpResponseMessage detached = await DeleteAsync($"/containers/{id}/groups/{group}");
        Assert.Equal(HttpStatusCode.NoContent, detached.StatusCode);
        await ReadProblemAsync(await DeleteAsync($"/containers/{id}/groups/{group}"), HttpStatusCode.NotFound, "ENOENT", "not in this container");
        Assert.False((await GetJsonAsync($"/groups/{group}")).GetProperty("in_container").GetBoolean());

        using HttpResponseMessage deleted = await DeleteAsync($"/containers/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty((await GetJsonAsync("/containers")).EnumerateArray());
        await ReadProblemAsync(await GetAsync($"/containers/{id}"), HttpStatusCode.NotFound, "ENOENT", $"no container {id}");
    }

    [Fact]
    public async Task Container_DeleteDetachesItsGroups()
    {
        int id = (await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        int group = await DeviceGroupAsync("02:00.0");
        await ReadJsonAsync(await PostAsync($"/containers/{id}/groups", $$"""{"group":{{group}}}"""));
        using HttpResponseMessage deleted = await DeleteAsync($"/containers/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        JsonElement g = await GetJsonAsync($"/groups/{group}");
        Assert.False(g.GetProperty("in_container").GetBoolean());
        Assert.Equal(g.GetProperty("default_domain").GetInt32(), g.GetProperty("domain").GetInt32());
    }

    [Fact]
    public async Task Container_GroupInAnotherContainer_409Ebusy()
    {
        int a = (await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        int b = (await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        int group = await DeviceGroupAsync("02:00.0");
        await ReadJsonAsync(await PostAsync($"/containers/{a}/groups", $$"""{"group":{{group}}}"""));
        await ReadProblemAsync(await PostAsync($"/containers/{b}/groups", $$"""{"group":{{group}}}"""), HttpStatusCode.Conflict, "EBUSY", "belongs to container");
    }

    [Fact]
    public async Task Container_BadInputs()
    {
        int id = (await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        await ReadProblemAsync(await GetAsync("/containers/99"), HttpStatusCode.NotFound, "ENOENT", "no container 99");
        await ReadProblemAsync(await GetAsync("/containers/abc"), HttpStatusCode.BadRequest, "EINVAL", "abc");
        await ReadProblemAsync(await DeleteAsync("/containers/99"), HttpStatusCode.NotFound, "ENOENT", "no container 99");
        await ReadProblemAsync(await PostAsync("/containers/99/groups", """{"group":1}"""), HttpStatusCode.NotFound, "ENOENT", "no container 99");
        await ReadProblemAsync(await PostAsync($"/containers/{id}/groups", """{}"""), HttpStatusCode.BadRequest, "EINVAL", "'group'");
        await ReadProblemAsync(await PostAsync($"/containers/{id}/groups", """{"group":"x"}"""), HttpStatusCode.BadRequest, "EINVAL", "$.group");
        await ReadProblemAsync(await PostAsync($"/containers/{id}/groups", """{"group":99}"""), HttpStatusCode.NotFound, "ENOENT", "no iommu group 99");
        await ReadProblemAsync(await DeleteAsync("/containers/99/groups/1"), HttpStatusCode.NotFound, "ENOENT", "no container 99");
        await ReadProblemAsync(await DeleteAsync($"/containers/{id}/groups/99"), HttpStatusCode.NotFound, "ENOENT", "no iommu group 99");
        await ReadProblemAsync(await DeleteAsync($"/containers/{id}/groups/x"), HttpStatusCode.BadRequest, "EINVAL", "group");
        await ReadProblemAsync(await PostAsync("/containers/99/dma", """{"iova":"0x0","hpa":"0x0","size":"0x1000"}"""), HttpStatusCode.NotFound, "ENOENT", "no container 99");
        await ReadProblemAsync(await PostAsync($"/containers/{id}/dma", """{"iova":"0x0","hpa":"0x0","size":"0x1000","prot":"q"}"""), HttpStatusCode.BadRequest, "EINVAL", "field 'prot' is 'q'");
        await ReadProblemAsync(await PostAsync($"/containers/{id}/dma", """{"iova":"0x0","size":"0x1000"}"""), HttpStatusCode.BadRequest, "EINVAL", "field 'hpa' is missing");
        await ReadProblemAsync(await DeleteAsync("/containers/99/dma?iova=0x0&size=0x1000"), HttpStatusCode.NotFound, "ENOENT", "no container 99");
        await ReadProblemAsync(await DeleteAsync($"/containers/{id}/dma?iova=0x0"), HttpStatusCode.BadRequest, "EINVAL", "field 'size' is missing");
    }

    [Fact]
    public async Task Container_OverlappingDma_409Eexist()
    {
        int id = (await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        const string body = """{"iova":"0x0","hpa":"0x0","size":"0x2000"}""";
        await ReadProblemAsync(await PostAsync($"/containers/{id}/dma", body), HttpStatusCode.BadRequest, "EINVAL", "no group");
        await ReadJsonAsync(await PostAsync($"/containers/{id}/groups", $$"""{"group":{{await DeviceGroupAsync("02:00.0")}}}"""));
        await ReadJsonAsync(await PostAsync($"/containers/{id}/dma", body), HttpStatusCode.Created);
        await ReadProblemAsync(await PostAsync($"/containers/{id}/dma", """{"iova":"0x1000","hpa":"0x0","size":"0x1000"}"""), HttpStatusCode.Conflict, "EEXIST", "overlaps");
    }
}
