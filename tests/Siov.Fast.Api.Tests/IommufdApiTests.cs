using System.Net;
using System.Text.Json;

namespace Siov.Fast.Api.Tests;

/// <summary><c>/iommufd</c>: seed 002 with one IOAS shared by a NIC and an mdev's PASID, iommufd's errnos as problem
/// bodies, nesting and dirty tracking over REST.</summary>
public sealed class IommufdApiTests : ApiTestHost
{
    private async Task<JsonElement> Send(HttpMethod method, string path, string? json, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (json != null)
            request.Content = Json(json);
        using HttpResponseMessage response = await Client.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{method} {path}: expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
    }

    [Fact]
    public async Task Seed_002_over_iommufd()
    {
        await Send(HttpMethod.Post, "/devices/01:00.0/features/aux", null, HttpStatusCode.OK);
        string mdev = (await Send(HttpMethod.Post, "/mdevs", """{"parent":"01:00.0","type":"idxd-wq"}""", HttpStatusCode.Created)).GetProperty("uuid").GetString()!;
        int ctx = (await Send(HttpMethod.Post, "/iommufd", null, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        uint ioas = (await Send(HttpMethod.Post, $"/iommufd/{ctx}/ioas", null, HttpStatusCode.Created)).GetProperty("id").GetUInt32();
        JsonElement mapped = await Send(HttpMethod.Post, $"/iommufd/{ctx}/ioas/{ioas}/map", """{"iova":"0x0","hpa":"0x4000000000","length":"0x4000000"}""", HttpStatusCode.OK);
        Assert.Equal("0x0", mapped.GetProperty("iova").GetString());
        uint nic = (await Send(HttpMethod.Post, $"/iommufd/{ctx}/devices", """{"device":"02:00.0"}""", HttpStatusCode.Created)).GetProperty("id").GetUInt32();
        uint wq = (await Send(HttpMethod.Post, $"/iommufd/{ctx}/devices", $$"""{"device":"{{mdev}}"}""", HttpStatusCode.Created)).GetProperty("id").GetUInt32();
        JsonElement a1 = await Send(HttpMethod.Post, $"/iommufd/{ctx}/devices/{nic}/attach", $$"""{"pt_id":{{ioas}}}""", HttpStatusCode.OK);
        JsonElement a2 = await Send(HttpMethod.Post, $"/iommufd/{ctx}/devices/{wq}/attach", $$"""{"pt_id":{{ioas}}}""", HttpStatusCode.OK);
        Assert.Equal(a1.GetProperty("attached_to").GetUInt32(), a2.GetProperty("attached_to").GetUInt32()); // one auto HWPT

        Assert.Equal("0x4000012345", (await GetJsonAsync("/translate?device=02:00.0&iova=0x12345")).GetProperty("hpa").GetString());
        JsonElement parent = await GetJsonAsync("/devices/01:00.0");
        uint pasid = parent.GetProperty("pasids").EnumerateArray().Single().GetProperty("pasid").GetUInt32();
        Assert.Equal("0x4000012345", (await GetJsonAsync($"/translate?device=01:00.0&pasid={pasid}&iova=0x12345")).GetProperty("hpa").GetString());

        // iommufd's errnos, as problem bodies.
        await ReadProblemAsync(await PostAsync($"/iommufd/{ctx}/ioas/{ioas}/map", """{"iova":"0x1000","hpa":"0x0","length":"0x1000"}"""), HttpStatusCode.Conflict, "EEXIST");
        await ReadProblemAsync(await PostAsync($"/iommufd/{ctx}/ioas/{ioas}/unmap", """{"iova":"0x1000","length":"0x1000"}"""), HttpStatusCode.NotFound, "ENOENT", "cuts");
        await ReadProblemAsync(await DeleteAsync($"/iommufd/{ctx}/objects/{ioas}"), HttpStatusCode.Conflict, "EBUSY");
        await ReadProblemAsync(await PostAsync($"/iommufd/{ctx}/hwpts", $$"""{"dev_id":{{nic}},"pt_id":{{ioas}},"flags":["bogus"]}"""), HttpStatusCode.BadRequest, "EOPNOTSUPP");
        // The group belongs to the context: /domains and VFIO containers cannot touch it.
        int group = (await GetJsonAsync("/devices/02:00.0")).GetProperty("group").GetInt32();
        int container = (await Send(HttpMethod.Post, "/containers", null, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        await ReadProblemAsync(await PostAsync($"/containers/{container}/groups", $$"""{"group":{{group}}}"""), HttpStatusCode.Conflict, "EBUSY");

        using (HttpResponseMessage closed = await DeleteAsync($"/iommufd/{ctx}"))
            Assert.Equal(HttpStatusCode.NoContent, closed.StatusCode);
        Assert.False((await GetJsonAsync("/translate?device=02:00.0&iova=0x12345")).GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task Dirty_tracking_and_hw_info_over_rest()
    {
        int ctx = (await Send(HttpMethod.Post, "/iommufd", null, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        uint ioas = (await Send(HttpMethod.Post, $"/iommufd/{ctx}/ioas", null, HttpStatusCode.Created)).GetProperty("id").GetUInt32();
        await Send(HttpMethod.Post, $"/iommufd/{ctx}/ioas/{ioas}/map", """{"iova":"0x100000","hpa":"0x50000000","length":"0x8000"}""", HttpStatusCode.OK);
        uint nic = (await Send(HttpMethod.Post, $"/iommufd/{ctx}/devices", """{"device":"02:00.0"}""", HttpStatusCode.Created)).GetProperty("id").GetUInt32();
        JsonElement info = await GetJsonAsync($"/iommufd/{ctx}/devices/{nic}/hw-info");
        Assert.Equal(("intel_vtd", 1u, true), (info.GetProperty("type").GetString(), info.GetProperty("flags").GetUInt32(), info.GetProperty("dirty_tracking").GetBoolean()));
        uint hwpt = (await Send(HttpMethod.Post, $"/iommufd/{ctx}/hwpts", $$"""{"dev_id":{{nic}},"pt_id":{{ioas}},"flags":["dirty_tracking"]}""", HttpStatusCode.Created)).GetProperty("id").GetUInt32();
        await Send(HttpMethod.Post, $"/iommufd/{ctx}/devices/{nic}/attach", $$"""{"pt_id":{{hwpt}}}""", HttpStatusCode.OK);
        await Send(HttpMethod.Post, $"/iommufd/{ctx}/hwpts/{hwpt}/dirty-tracking", """{"enabled":true}""", HttpStatusCode.OK);
        Assert.True((await GetJsonAsync("/translate?device=02:00.0&iova=0x103010&access=write")).GetProperty("ok").GetBoolean());
        JsonElement bitmap = await Send(HttpMethod.Post, $"/iommufd/{ctx}/hwpts/{hwpt}/dirty-bitmap", """{"iova":"0x100000","length":"0x8000","page_size":"0x1000"}""", HttpStatusCode.OK);
        Assert.Equal(["0x103000"], bitmap.GetProperty("dirty_pages").EnumerateArray().Select(p => p.GetString()));
        await ReadProblemAsync(await PostAsync($"/iommufd/{ctx}/hwpts/{hwpt}/dirty-bitmap", """{"iova":"0x100000","length":"0x8000","page_size":"0x0"}"""),
            HttpStatusCode.BadRequest, "EINVAL");
    }
}
