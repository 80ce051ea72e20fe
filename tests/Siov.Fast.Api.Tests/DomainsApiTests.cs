using System.Net;
using System.Text;
using System.Text.Json;

namespace Siov.Fast.Api.Tests;

/// <summary><c>/domains</c>: create, list, free, mappings (single and batch) and attachments of every kind.</summary>
public sealed class DomainsApiTests : ApiTestHost
{
    [Fact]
    public async Task List_HasOneDefaultDmaDomainPerGroup()
    {
        JsonElement domains = await GetJsonAsync("/domains");
        Assert.Equal(7, domains.GetArrayLength());
        Assert.All(domains.EnumerateArray(), d => Assert.Equal("DMA", d.GetProperty("type").GetString()));
    }

    [Theory]
    [InlineData("unmanaged", "UNMANAGED")]
    [InlineData("DMA", "DMA")]
    [InlineData("Identity", "IDENTITY")]
    [InlineData("blocked", "BLOCKED")]
    public async Task Create_EachType_201WithLocation(string type, string expected)
    {
        using HttpResponseMessage response = await PostAsync("/domains", $$"""{"type":"{{type}}"}""");
        JsonElement domain = await ReadJsonAsync(response, HttpStatusCode.Created);
        int id = domain.GetProperty("id").GetInt32();
        Assert.Equal(expected, domain.GetProperty("type").GetString());
        Assert.Equal($"/domains/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal(expected, (await GetJsonAsync($"/domains/{id}")).GetProperty("type").GetString());
        Assert.Contains((await GetJsonAsync("/domains")).EnumerateArray(), d => d.GetProperty("id").GetInt32() == id);
    }

    [Theory]
    [InlineData("""{"type":"bogus"}""", "'bogus'")]
    [InlineData("""{"type":"1"}""", "'1'")]
    [InlineData("""{}""", "field 'type'")]
    public async Task Create_BadType_400NamesField(string body, string fragment)
    {
        await ReadProblemAsync(await PostAsync("/domains", body), HttpStatusCode.BadRequest, "EINVAL", "field 'type'", fragment);
    }

    [Fact]
    public async Task Create_MalformedJson_400()
    {
        await ReadProblemAsync(await PostAsync("/domains", "{bad json"), HttpStatusCode.BadRequest, "EINVAL", "JSON");
    }

    [Fact]
    public async Task Create_WrongJsonType_400NamesTheField()
    {
        await ReadProblemAsync(await PostAsync("/domains", """{"type":5}"""), HttpStatusCode.BadRequest, "EINVAL", "$.type");
    }

    [Fact]
    public async Task Create_NotJson_415()
    {
        using var content = new StringContent("type=dma", Encoding.UTF8, "text/plain");
        await ReadProblemAsync(await Client.PostAsync(new Uri("/domains", UriKind.Relative), content), HttpStatusCode.UnsupportedMediaType, "EINVAL");
    }

    [Fact]
    public async Task Get_UnknownAndMalformed_404And400()
    {
        await ReadProblemAsync(await GetAsync("/domains/999"), HttpStatusCode.NotFound, "ENOENT", "no domain 999");
        await ReadProblemAsync(await GetAsync("/domains/abc"), HttpStatusCode.BadRequest, "EINVAL", "id", "abc");
    }

    [Fact]
    public async Task Delete_FreeThenGone()
    {
        int id = await CreateDomainAsync();
        using HttpResponseMessage deleted = await DeleteAsync($"/domains/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await ReadProblemAsync(await GetAsync($"/domains/{id}"), HttpStatusCode.NotFound, "ENOENT");
        await ReadProblemAsync(await DeleteAsync($"/domains/{id}"), HttpStatusCode.NotFound, "ENOENT", $"no domain {id}");
        await ReadProblemAsync(await DeleteAsync("/domains/abc"), HttpStatusCode.BadRequest, "EINVAL", "abc");
    }

    [Fact]
    public async Task Delete_DefaultOrAttachedDomain_409Ebusy()
    {
        int dma = await DeviceDomainAsync("02:00.0");
        await ReadProblemAsync(await DeleteAsync($"/domains/{dma}"), HttpStatusCode.Conflict, "EBUSY");
        int id = await CreateDomainAsync();
        await ReadJsonAsync(await PostAsync($"/domains/{id}/attachments", """{"device":"02:00.0"}"""));
        await ReadProblemAsync(await DeleteAsync($"/domains/{id}"), HttpStatusCode.Conflict, "EBUSY", "attached");
    }

    [Fact]
    public async Task Mappings_MapListUnmap()
    {
        int id = await CreateDomainAsync();
        using HttpResponseMessage created = await PostAsync($"/domains/{id}/mappings", """{"iova":"0x1000","hpa":"0x7000_0000","size":"0x2000","prot":"r"}""".Replace("_", "", StringComparison.Ordinal));
        JsonElement mapping = await ReadJsonAsync(created, HttpStatusCode.Created);
        Assert.Equal("0x70000000", mapping.GetProperty("hpa").GetString());
        Assert.Equal("r", mapping.GetProperty("prot").GetString());

        JsonElement list = await GetJsonAsync($"/domains/{id}/mappings");
        Assert.Equal(["0x1000", "0x2000"], list.EnumerateArray().Select(m => m.GetProperty("iova").GetString()));
        Assert.Equal("0x2000", (await GetJsonAsync($"/domains/{id}")).GetProperty("mapped_bytes").GetString());

        JsonElement unmapped = await ReadJsonAsync(await DeleteAsync($"/domains/{id}/mappings?iova=0x1000&size=0x2000"));
        Assert.Equal("0x2000", unmapped.GetProperty("unmapped").GetString());
        Assert.Empty((await GetJsonAsync($"/domains/{id}/mappings")).EnumerateArray());
        JsonElement again = await ReadJsonAsync(await DeleteAsync($"/domains/{id}/mappings?iova=0x1000&size=0x2000"));
        Assert.Equal("0x0", again.GetProperty("unmapped").GetString());
    }

    [Fact]
    public async Task Map_DefaultProtIsReadWrite_DecimalAccepted()
    {
        int id = await CreateDomainAsync();
        JsonElement mapping = await ReadJsonAsync(await PostAsync($"/domains/{id}/mappings", """{"iova":"4096","hpa":"0x0","size":"0x1000"}"""), HttpStatusCode.Created);
        Assert.Equal("0x1000", mapping.GetProperty("iova").GetString());
        Assert.Equal("rw", mapping.GetProperty("prot").GetString());
    }

    [Theory]
    [InlineData("""{"hpa":"0x0","size":"0x1000"}""", "field 'iova' is missing")]
    [InlineData("""{"iova":"zz","hpa":"0x0","size":"0x1000"}""", "field 'iova' is 'zz'")]
    [InlineData("""{"iova":"0x1000","hpa":"0x","size":"0x1000"}""", "field 'hpa'")]
    [InlineData("""{"iova":"0x1000","hpa":"0x0"}""", "field 'size' is missing")]
    [InlineData("""{"iova":"0x1000","hpa":"0x0","size":"0x1000","prot":"x"}""", "field 'prot' is 'x'")]
    [InlineData("""{"iova":"0x1001","hpa":"0x0","size":"0x1000"}""", "IOVA 0x1001")]
    [InlineData("""{"iova":"0x1000","hpa":"0x0","size":"0x0"}""", "size is zero")]
    [InlineData("""{"iova":12,"hpa":"0x0","size":"0x1000"}""", "$.iova")]
    public async Task Map_BadFields_400NamesField(string body, string fragment)
    {
        int id = await CreateDomainAsync();
        await ReadProblemAsync(await PostAsync($"/domains/{id}/mappings", body), HttpStatusCode.BadRequest, "EINVAL", fragment);
    }

    [Fact]
    public async Task Map_BeyondAddressWidth_400Erange()
    {
        int id = await CreateDomainAsync();
        await ReadProblemAsync(await PostAsync($"/domains/{id}/mappings", """{"iova":"0xffffffffffff0000","hpa":"0x0","size":"0x1000"}"""),
            HttpStatusCode.BadRequest, "ERANGE", "0xffffffffffff0000");
    }

    [Fact]
    public async Task Map_Overlap_409Eexist()
    {
        int id = await CreateDomainAsync();
        const string body = """{"iova":"0x1000","hpa":"0x0","size":"0x1000"}""";
        await ReadJsonAsync(await PostAsync($"/domains/{id}/mappings", body), HttpStatusCode.Created);
        await ReadProblemAsync(await PostAsync($"/domains/{id}/mappings", body), HttpStatusCode.Conflict, "EEXIST", "0x1000");
    }

    [Fact]
    public async Task Map_NoPageTable_400AndUnknownDomain_404()
    {
        int blocked = await CreateDomainAsync("blocked");
        await ReadProblemAsync(await PostAsync($"/domains/{blocked}/mappings", """{"iova":"0x0","hpa":"0x0","size":"0x1000"}"""), HttpStatusCode.BadRequest, "EINVAL", "no page table");
        await ReadProblemAsync(await PostAsync("/domains/999/mappings", """{"iova":"0x0","hpa":"0x0","size":"0x1000"}"""), HttpStatusCode.NotFound, "ENOENT", "no domain 999");
        await ReadProblemAsync(await GetAsync("/domains/999/mappings"), HttpStatusCode.NotFound, "ENOENT");
        await ReadProblemAsync(await DeleteAsync("/domains/999/mappings?iova=0x0&size=0x1000"), HttpStatusCode.NotFound, "ENOENT");
        await ReadProblemAsync(await GetAsync("/domains/x/mappings"), HttpStatusCode.BadRequest, "EINVAL", "parameter 'id' is 'x'");
    }

    [Theory]
    [InlineData("?iova=0x1000", "field 'size' is missing")]
    [InlineData("?size=0x1000", "field 'iova' is missing")]
    [InlineData("?iova=0xq&size=0x1000", "field 'iova' is '0xq'")]
    public async Task Unmap_BadQuery_400NamesField(string query, string fragment)
    {
        int id = await CreateDomainAsync();
        await ReadProblemAsync(await DeleteAsync($"/domains/{id}/mappings{query}"), HttpStatusCode.BadRequest, "EINVAL", fragment);
    }

    [Fact]
    public async Task MapBatch_MapsAll()
    {
        int id = await CreateDomainAsync();
        JsonElement result = await ReadJsonAsync(await PostAsync($"/domains/{id}/mappings/batch",
            """{"mappings":[{"iova":"0x1000","hpa":"0x10000","size":"0x1000"},{"iova":"0x200000","hpa":"0x40000000","size":"0x200000","prot":"w"}]}"""));
        Assert.Equal(2, result.GetProperty("mapped").GetInt32());
        Assert.Equal("0x201000", (await GetJsonAsync($"/domains/{id}")).GetProperty("mapped_bytes").GetString());
    }

    [Fact]
    public async Task MapBatch_FailsWhole_409NamesIndex_DomainUnchanged()
    {
        int id = await CreateDomainAsync();
        await ReadProblemAsync(await PostAsync($"/domains/{id}/mappings/batch",
                """{"mappings":[{"iova":"0x1000","hpa":"0x0","size":"0x1000"},{"iova":"0x1000","hpa":"0x0","size":"0x1000"},{"iova":"0x5000","hpa":"0x0","size":"0x1000"}]}"""),
            HttpStatusCode.Conflict, "EEXIST", "mappings[1]", "overlaps mappings[0]");
        Assert.Empty((await GetJsonAsync($"/domains/{id}/mappings")).EnumerateArray());
    }

    [Theory]
    [InlineData("""{}""", "{\"mappings\": [...]}")]
    [InlineData("""{"mappings":[null]}""", "mappings[0] is null")]
    [InlineData("""{"mappings":[{"iova":"0x0","hpa":"0x0","size":"0x1000"},{"iova":"0x1000","hpa":"0x0"}]}""", "field 'mappings[1].size' is missing")]
    [InlineData("""{"mappings":[{"iova":"0x0","hpa":"0x0","size":"0x1000","prot":"z"}]}""", "field 'mappings[0].prot'")]
    public async Task MapBatch_Malformed_400NamesField(string body, string fragment)
    {
        int id = await CreateDomainAsync();
        await ReadProblemAsync(await PostAsync($"/domains/{id}/mappings/batch", body), HttpStatusCode.BadRequest, "EINVAL", fragment);
        Assert.Empty((await GetJsonAsync($"/domains/{id}/mappings")).EnumerateArray()); // parsed whole before mapping
    }

    [Fact]
    public async Task MapBatch_OverMaximum_413E2big()
    {
        int id = await CreateDomainAsync();
        string body = "{\"mappings\":[" + string.Join(',', Enumerable.Repeat("{}", 65537)) + "]}";
        await ReadProblemAsync(await PostAsync($"/domains/{id}/mappings/batch", body), (HttpStatusCode)413, "E2BIG", "65537", "65536");
        await ReadProblemAsync(await PostAsync("/domains/999/mappings/batch", "{\"mappings\":[]}"), HttpStatusCode.NotFound, "ENOENT");
    }

    [Fact]
    public async Task Attach_Group_ListDetach()
    {
        int id = await CreateDomainAsync();
        int group = await DeviceGroupAsync("03:00.0");
        JsonElement attached = await ReadJsonAsync(await PostAsync($"/domains/{id}/attachments", $$"""{"group":{{group}}}"""));
        Assert.Equal("group", attached.GetProperty("kind").GetString());
        Assert.Equal(id, (await GetJsonAsync($"/groups/{group}")).GetProperty("domain").GetInt32());

        JsonElement list = await GetJsonAsync($"/domains/{id}/attachments");
        JsonElement only = Assert.Single(list.EnumerateArray());
        Assert.Equal(group, only.GetProperty("group").GetInt32());

        await ReadProblemAsync(await PostAsync($"/domains/{id}/attachments", $$"""{"group":{{group}}}"""), HttpStatusCode.Conflict, "EBUSY");
        using HttpResponseMessage detached = await DeleteAsync($"/domains/{id}/attachments?group={group}");
        Assert.Equal(HttpStatusCode.NoContent, detached.StatusCode);
        Assert.Empty((await GetJsonAsync($"/domains/{id}/attachments")).EnumerateArray());
        JsonElement back = await GetJsonAsync($"/groups/{group}");
        Assert.Equal(back.GetProperty("default_domain").GetInt32(), back.GetProperty("domain").GetInt32());
        await ReadProblemAsync(await DeleteAsync($"/domains/{id}/attachments?group={group}"), HttpStatusCode.NotFound, "ENOENT", "not attached");
    }

    [Fact]
    public async Task Attach_Device_TranslatesThroughIt()
    {
        int id = await CreateDomainAsync();
        await ReadJsonAsync(await PostAsync($"/domains/{id}/mappings", """{"iova":"0x1000","hpa":"0x80001000","size":"0x1000"}"""), HttpStatusCode.Created);
        JsonElement attached = await ReadJsonAsync(await PostAsync($"/domains/{id}/attachments", """{"device":"00:14.0"}"""));
        Assert.Equal("0000:00:14.0", attached.GetProperty("device").GetString());
        Assert.Equal(id, await DeviceDomainAsync("00:14.0"));

        JsonElement hit = await GetJsonAsync("/translate?device=00:14.0&iova=0x1234&access=write");
        Assert.True(hit.GetProperty("ok").GetBoolean());
        Assert.Equal("0x80001234", hit.GetProperty("hpa").GetString());

        using HttpResponseMessage detached = await DeleteAsync($"/domains/{id}/attachments?device=00:14.0");
        Assert.Equal(HttpStatusCode.NoContent, detached.StatusCode);
        Assert.NotEqual(id, await DeviceDomainAsync("00:14.0"));
    }

    [Fact]
    public async Task Attach_DeviceSharingAGroup_400()
    {
        int id = await CreateDomainAsync();
        await ReadProblemAsync(await PostAsync($"/domains/{id}/attachments", """{"device":"03:00.0"}"""), HttpStatusCode.BadRequest, "EINVAL", "attach the group");
    }

    [Fact]
    public async Task Attach_Aux_AllocatesPasid_ListDetach()
    {
        await ReadJsonAsync(await PostAsync("/devices/01:00.0/features/aux"));
        int id = await CreateDomainAsync();
        JsonElement attached = await ReadJsonAsync(await PostAsync($"/domains/{id}/attachments", """{"device":"01:00.0","aux":true}"""));
        Assert.Equal("aux", attached.GetProperty("kind").GetString());
        uint pasid = attached.GetProperty("pasid").GetUInt32();
        Assert.True(pasid > 0);

        JsonElement domain = await GetJsonAsync($"/domains/{id}");
        Assert.True(domain.GetProperty("is_aux").GetBoolean());
        Assert.Equal(pasid, domain.GetProperty("pasid").GetUInt32());
        JsonElement device = await GetJsonAsync("/devices/01:00.0");
        JsonElement entry = Assert.Single(device.GetProperty("pasids").EnumerateArray());
        Assert.Equal(id, entry.GetProperty("domain").GetInt32());
        Assert.True(entry.GetProperty("aux").GetBoolean());

        JsonElement only = Assert.Single((await GetJsonAsync($"/domains/{id}/attachments")).EnumerateArray());
        Assert.Equal("aux", only.GetProperty("kind").GetString());

        using HttpResponseMessage detached = await DeleteAsync($"/domains/{id}/attachments?device=01:00.0&aux=true");
        Assert.Equal(HttpStatusCode.NoContent, detached.StatusCode);
        Assert.Empty((await GetJsonAsync($"/domains/{id}/attachments")).EnumerateArray());
        await ReadProblemAsync(await DeleteAsync($"/domains/{id}/attachments?device=01:00.0&aux=true"), HttpStatusCode.NotFound, "ENOENT", "not aux-attached");
    }

    [Fact]
    public async Task Attach_AuxWithoutFeature_409Enodev()
    {
        int id = await CreateDomainAsync();
        await ReadProblemAsync(await PostAsync($"/domains/{id}/attachments", """{"device":"01:00.0","aux":true}"""), HttpStatusCode.Conflict, "ENODEV", "IOMMU_DEV_FEAT_AUX");
    }

    [Fact]
    public async Task Attach_AuxGroup_ListedOnceAsAuxGroup_Detach()
    {
        await ReadJsonAsync(await PostAsync("/devices/01:00.0/features/aux"));
        JsonElement mdev = await ReadJsonAsync(await PostAsync("/mdevs", """{"parent":"01:00.0","type":"idxd-wq"}"""), HttpStatusCode.Created);
        int group = mdev.GetProperty("group").GetInt32();
        int id = await CreateDomainAsync();

        JsonElement attached = await ReadJsonAsync(await PostAsync($"/domains/{id}/attachments", $$"""{"group":{{group}},"device":"01:00.0","aux":true}"""));
        Assert.Equal("aux-group", attached.GetProperty("kind").GetString());
        Assert.True(attached.GetProperty("pasid").GetUInt32() > 0);
        Assert.Equal(id, (await GetJsonAsync("/mdevs/" + mdev.GetProperty("uuid").GetString())).GetProperty("domain").GetInt32());

        JsonElement only = Assert.Single((await GetJsonAsync($"/domains/{id}/attachments")).EnumerateArray());
        Assert.Equal("aux-group", only.GetProperty("kind").GetString());
        Assert.Equal(group, only.GetProperty("group").GetInt32());
        Assert.Equal("0000:01:00.0", only.GetProperty("device").GetString());

        // The group's aux attachment is not detached as a plain aux attachment of the parent.
        await ReadProblemAsync(await DeleteAsync($"/domains/{id}/attachments?device=01:00.0&aux=true"), HttpStatusCode.Conflict, "EBUSY", "AuxDetachGroup");
        using HttpResponseMessage detached = await DeleteAsync($"/domains/{id}/attachments?group={group}&device=01:00.0&aux=true");
        Assert.Equal(HttpStatusCode.NoContent, detached.StatusCode);
        Assert.Empty((await GetJsonAsync($"/domains/{id}/attachments")).EnumerateArray());
    }

    [Fact]
    public async Task Attach_Pasid_ListDetach()
    {
        int id = await CreateDomainAsync();
        JsonElement attached = await ReadJsonAsync(await PostAsync($"/domains/{id}/attachments", """{"device":"01:00.0","pasid":77}"""));
        Assert.Equal("pasid", attached.GetProperty("kind").GetString());
        Assert.Equal(77u, attached.GetProperty("pasid").GetUInt32());
        JsonElement only = Assert.Single((await GetJsonAsync($"/domains/{id}/attachments")).EnumerateArray());
        Assert.Equal("pasid", only.GetProperty("kind").GetString());
        JsonElement entry = Assert.Single((await GetJsonAsync("/devices/01:00.0")).GetProperty("pasids").EnumerateArray());
        Assert.Equal(77u, entry.GetProperty("pasid").GetUInt32());
        Assert.False(entry.GetProperty("aux").GetBoolean());

        await ReadProblemAsync(await PostAsync($"/domains/{id}/attachments", """{"device":"01:00.0","pasid":77}"""), HttpStatusCode.Conflict, "EBUSY", "PASID 77");
        using HttpResponseMessage detached = await DeleteAsync($"/domains/{id}/attachments?device=01:00.0&pasid=77");
        Assert.Equal(HttpStatusCode.NoContent, detached.StatusCode);
        Assert.Empty((await GetJsonAsync($"/domains/{id}/attachments")).EnumerateArray());
        await ReadProblemAsync(await DeleteAsync($"/domains/{id}/attachments?device=01:00.0&pasid=77"), HttpStatusCode.NotFound, "ENOENT", "PASID 77");
    }

    [Fact]
    public async Task Attach_PasidOfGroup_AndBadPasids()
    {
        int id = await CreateDomainAsync();
        int group = await DeviceGroupAsync("01:00.0");
        JsonElement attached = await ReadJsonAsync(await PostAsync($"/domains/{id}/attachments", $$"""{"group":{{group}},"pasid":5}"""));
        Assert.Equal(group, attached.GetProperty("group").GetInt32());
        using HttpResponseMessage detached = await DeleteAsync($"/domains/{id}/attachments?group={group}&pasid=5");
        Assert.Equal(HttpStatusCode.NoContent, detached.StatusCode);

        await ReadProblemAsync(await PostAsync($"/domains/{id}/attachments", """{"device":"01:00.0","pasid":0}"""), HttpStatusCode.BadRequest, "EINVAL", "PASID 0");
        await ReadProblemAsync(await PostAsync($"/domains/{id}/attachments", """{"device":"01:00.0","pasid":2000000}"""), HttpStatusCode.BadRequest, "ERANGE", "2000000");
        await ReadProblemAsync(await PostAsync($"/domains/{id}/attachments", """{"device":"02:00.0","pasid":3}"""), HttpStatusCode.BadRequest, "EINVAL", "no PASID support");
        await ReadProblemAsync(await PostAsync($"/domains/{id}/attachments", """{"device":"01:00.0","pasid":-1}"""), HttpStatusCode.BadRequest, "EINVAL", "$.pasid");
        await ReadProblemAsync(await PostAsync($"/domains/{id}/attachments", """{"device":"01:00.0","pasid":3,"aux":true}"""), HttpStatusCode.BadRequest, "EINVAL", "'aux' and 'pasid'");
    }

    [Theory]
    [InlineData("""{}""", HttpStatusCode.BadRequest, "EINVAL", "'device'")]
    [InlineData("""{"device":"zz"}""", HttpStatusCode.BadRequest, "EINVAL", "field 'device' is 'zz'")]
    [InlineData("""{"device":"09:00.0"}""", HttpStatusCode.NotFound, "ENOENT", "09:00.0")]
    [InlineData("""{"group":99}""", HttpStatusCode.NotFound, "ENOENT", "no iommu group 99")]
    [InlineData("""{"group":"one"}""", HttpStatusCode.BadRequest, "EINVAL", "$.group")]
    [InlineData("""{"group":2,"device":"00:1f.2"}""", HttpStatusCode.BadRequest, "EINVAL", "not both")]
    [InlineData("""{"group":2,"aux":true}""", HttpStatusCode.BadRequest, "EINVAL", "needs 'device'")]
    public async Task Attach_BadBodies(string body, HttpStatusCode status, string code, string fragment)
    {
        int id = await CreateDomainAsync();
        await ReadProblemAsync(await PostAsync($"/domains/{id}/attachments", body), status, code, fragment);
    }

    [Theory]
    [InlineData("", HttpStatusCode.BadRequest, "EINVAL", "'device' or 'group'")]
    [InlineData("?group=abc", HttpStatusCode.BadRequest, "EINVAL", "group")]
    [InlineData("?device=zz", HttpStatusCode.BadRequest, "EINVAL", "field 'device' is 'zz'")]
    [InlineData("?device=09:00.0", HttpStatusCode.NotFound, "ENOENT", "09:00.0")]
    [InlineData("?group=99", HttpStatusCode.NotFound, "ENOENT", "no iommu group 99")]
    [InlineData("?group=2&aux=true", HttpStatusCode.BadRequest, "EINVAL", "needs 'device'")]
    [InlineData("?device=00:14.0", HttpStatusCode.NotFound, "ENOENT", "not attached")]
    public async Task Detach_BadQueries(string query, HttpStatusCode status, string code, string fragment)
    {
        int id = await CreateDomainAsync();
        await ReadProblemAsync(await DeleteAsync($"/domains/{id}/attachments{query}"), status, code, fragment);
    }

    [Fact]
    public async Task Attachments_UnknownDomain_404()
    {
        await ReadProblemAsync(await GetAsync("/domains/999/attachments"), HttpStatusCode.NotFound, "ENOENT", "no domain 999");
        await ReadProblemAsync(await PostAsync("/domains/999/attachments", """{"group":1}"""), HttpStatusCode.NotFound, "ENOENT", "no domain 999");
        await ReadProblemAsync(await DeleteAsync("/domains/999/attachments?group=1"), HttpStatusCode.NotFound, "ENOENT", "no domain 999");
    }
}
