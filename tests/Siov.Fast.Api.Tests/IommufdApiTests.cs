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

    /// <summary>An iommufd fault object over REST: the function 01:00.0 (ATS and PRI) sends a page request at a PASID whose
    /// HWPT reports faults to the object; a client reads the record, maps the page in the IOAS and answers success; the
    /// function receives the response and its DMA translates. A second group answered invalid reaches it as invalid.</summary>
    [Fact]
    public async Task Fault_queue_over_rest()
    {
        int ctx = (await Send(HttpMethod.Post, "/iommufd", null, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        uint ioas = (await Send(HttpMethod.Post, $"/iommufd/{ctx}/ioas", null, HttpStatusCode.Created)).GetProperty("id").GetUInt32();
        uint dev = (await Send(HttpMethod.Post, $"/iommufd/{ctx}/devices", """{"device":"01:00.0"}""", HttpStatusCode.Created)).GetProperty("id").GetUInt32();
        JsonElement fault = await Send(HttpMethod.Post, $"/iommufd/{ctx}/faults", null, HttpStatusCode.Created);
        Assert.Equal("fault", fault.GetProperty("type").GetString());
        uint faultId = fault.GetProperty("id").GetUInt32();
        JsonElement hwpt = await Send(HttpMethod.Post, $"/iommufd/{ctx}/hwpts", $$"""{"dev_id":{{dev}},"pt_id":{{ioas}},"fault_id":{{faultId}}}""", HttpStatusCode.Created);
        Assert.Equal(faultId, hwpt.GetProperty("fault_id").GetUInt32());
        uint hwptId = hwpt.GetProperty("id").GetUInt32();
        await Send(HttpMethod.Post, $"/iommufd/{ctx}/devices/{dev}/pasids/7/attach", $$"""{"pt_id":{{hwptId}}}""", HttpStatusCode.OK);

        Assert.False((await GetJsonAsync("/translate?device=01:00.0&pasid=7&iova=0x300010&access=write")).GetProperty("ok").GetBoolean());
        await Send(HttpMethod.Post, "/devices/01:00.0/page-requests", """{"pasid":7,"address":"0x300010","access":"w","group":3}""", HttpStatusCode.Accepted);
        Assert.Empty((await GetJsonAsync("/devices/01:00.0/page-responses")).EnumerateArray()); // user space has not answered

        JsonElement record = (await Send(HttpMethod.Post, $"/iommufd/{ctx}/faults/{faultId}/read", null, HttpStatusCode.OK)).EnumerateArray().Single();
        Assert.Equal(["pasid_valid", "last_page"], record.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal((dev, 7u, 3u, "0x300000", 4096u), (record.GetProperty("dev_id").GetUInt32(), record.GetProperty("pasid").GetUInt32(),
            record.GetProperty("grpid").GetUInt32(), record.GetProperty("addr").GetString(), record.GetProperty("length").GetUInt32()));
        Assert.Equal(["write"], record.GetProperty("perm").EnumerateArray().Select(f => f.GetString()));
        uint cookie = record.GetProperty("cookie").GetUInt32();

        await Send(HttpMethod.Post, $"/iommufd/{ctx}/ioas/{ioas}/map", """{"iova":"0x300000","hpa":"0x60000000","length":"0x1000"}""", HttpStatusCode.OK);
        await Send(HttpMethod.Post, $"/iommufd/{ctx}/faults/{faultId}/responses", $$"""{"cookie":{{cookie}},"code":"success"}""", HttpStatusCode.NoContent);
        JsonElement response = (await GetJsonAsync("/devices/01:00.0/page-responses")).EnumerateArray().Single();
        Assert.Equal((7u, 3, "success"), (response.GetProperty("pasid").GetUInt32(), response.GetProperty("group").GetInt32(), response.GetProperty("code").GetString()));
        Assert.Equal("0x60000010", (await GetJsonAsync("/translate?device=01:00.0&pasid=7&iova=0x300010&access=write")).GetProperty("hpa").GetString());

        // Answered already; a bad code; the fault object in use.
        await ReadProblemAsync(await PostAsync($"/iommufd/{ctx}/faults/{faultId}/responses", $$"""{"cookie":{{cookie}},"code":"success"}"""), HttpStatusCode.BadRequest, "EINVAL");
        await ReadProblemAsync(await PostAsync($"/iommufd/{ctx}/faults/{faultId}/responses", """{"cookie":1,"code":"maybe"}"""), HttpStatusCode.BadRequest, "EINVAL");
        await ReadProblemAsync(await DeleteAsync($"/iommufd/{ctx}/objects/{faultId}"), HttpStatusCode.Conflict, "EBUSY");

        await Send(HttpMethod.Post, "/devices/01:00.0/page-requests", """{"pasid":7,"address":"0x500000","access":"r","group":4}""", HttpStatusCode.Accepted);
        uint second = (await Send(HttpMethod.Post, $"/iommufd/{ctx}/faults/{faultId}/read?max=8", null, HttpStatusCode.OK)).EnumerateArray().Single().GetProperty("cookie").GetUInt32();
        await Send(HttpMethod.Post, $"/iommufd/{ctx}/faults/{faultId}/responses", $$"""{"cookie":{{second}},"code":"invalid"}""", HttpStatusCode.NoContent);
        Assert.Equal("invalid", (await GetJsonAsync("/devices/01:00.0/page-responses")).EnumerateArray().Last().GetProperty("code").GetString());

        // A function without PRI sends no page requests.
        await ReadProblemAsync(await PostAsync("/devices/02:00.0/page-requests", """{"address":"0x1000"}"""), HttpStatusCode.BadRequest, "EOPNOTSUPP");
    }
}
