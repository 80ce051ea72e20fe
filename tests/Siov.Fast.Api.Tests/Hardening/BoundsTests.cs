using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Siov.Fast.Api.Tests.Hardening;

/// <summary>
/// Defects 4 and 6-8 of the hostile-client review, and the quotas: media types, bounded bodies, no table
/// memory leaked by a failed map, bounded work for huge ranges, and the limits on domains, containers and
/// table pages per domain (lowered here so they are reached quickly).
/// </summary>
public sealed class BoundsTests() : ApiTestHost(
    ("Siov:Limits:MaxDomains", "4"), ("Siov:Limits:MaxContainers", "2"), ("Siov:Limits:MaxTablePagesPerDomain", "64"))
{
    private async Task<int> FreeFramesAsync() => (await GetJsonAsync("/platform")).GetProperty("free_frames").GetInt32();

    private async Task<HttpResponseMessage> PostRawAsync(string url, HttpContent content) =>
        await Client.PostAsync(new Uri(url, UriKind.Relative), content);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("application/json, text/plain")]
    [InlineData("é/é")]
    [InlineData("text/plain")]
    public async Task Defect4_TranslateBatch_WithoutUsableContentType_Is415Problem(string? contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"requests":[]}"""));
        content.Headers.ContentType = null;
        if (contentType != null)
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        await ReadProblemAsync(await PostRawAsync("/translate/batch", content), HttpStatusCode.UnsupportedMediaType, "EINVAL", "Content-Type");
    }

    [Fact]
    public async Task Defect6_BatchBodies_AreRefusedByLength_AndByRecordCount()
    {
        // Declared length over the batch limit: refused before anything is read.
        var huge = new ByteArrayContent(new byte[(8 << 20) + 1]);
        huge.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        await ReadProblemAsync(await PostRawAsync("/translate/batch", huge), HttpStatusCode.RequestEntityTooLarge, "E2BIG");
        // An ordinary route takes 64 KiB at most.
        await ReadProblemAsync(await PostAsync("/domains", "{\"type\":\"unmanaged\"," + new string(' ', 70_000) + "}"), HttpStatusCode.RequestEntityTooLarge, "E2BIG");

        // 65,537 small records fit the byte limit but not the record cap: refused while parsing.
        var json = new StringBuilder("{\"requests\":[");
        for (int i = 0; i <= 65536; i++)
            json.Append(i == 0 ? "" : ",").Append("{\"device\":\"2:0.0\",\"iova\":\"0\"}");
        json.Append("]}");
        await ReadProblemAsync(await PostAsync("/translate/batch", json.ToString()), HttpStatusCode.RequestEntityTooLarge, "E2BIG", "65536");
        int domain = await CreateDomainAsync();
        await ReadProblemAsync(await PostAsync($"/domains/{domain}/mappings/batch", json.ToString().Replace("requests", "mappings", StringComparison.Ordinal)),
            HttpStatusCode.RequestEntityTooLarge, "E2BIG", "65536");
    }

    [Fact]
    public async Task Defect7_FailedBatch_LeavesFreeFramesExactlyAsBefore()
    {
        int domain = await CreateDomainAsync();
        await ReadJsonAsync(await PostAsync($"/domains/{domain}/mappings", """{"iova":"0x7000000000","hpa":"0x1000","size":"0x1000"}"""), HttpStatusCode.Created);
        int before = await FreeFramesAsync();
        // 20 mappings 1 GiB apart (each needs two new tables), then one that overlaps the existing mapping.
        string items = string.Join(",", Enumerable.Range(0, 20).Select(i => $$"""{"iova":"0x{{(ulong)i << 30:x}}","hpa":"0x1000","size":"0x1000"}"""));
        await ReadProblemAsync(await PostAsync($"/domains/{domain}/mappings/batch",
            $$"""{"mappings":[{{items}},{"iova":"0x7000000000","hpa":"0x2000","size":"0x1000"}]}"""), HttpStatusCode.Conflict, "EEXIST", "mappings[20]");
        Assert.Equal(before, await FreeFramesAsync());
        Assert.Single((await GetJsonAsync($"/domains/{domain}/mappings")).EnumerateArray());
        // The same for a batch that runs into the per-domain table quota, and for a single map.
        string many = string.Join(",", Enumerable.Range(0, 70).Select(i => $$"""{"iova":"0x{{(ulong)i << 30:x}}","hpa":"0x1000","size":"0x1000"}"""));
        await ReadProblemAsync(await PostAsync($"/domains/{domain}/mappings/batch", $$"""{"mappings":[{{many}}]}"""), HttpStatusCode.Conflict, "ENOSPC", "64");
        await ReadProblemAsync(await PostAsync($"/domains/{domain}/mappings", """{"iova":"0x0","hpa":"0x1000","size":"0x4000000000"}"""), HttpStatusCode.Conflict, "ENOSPC", "64");
        Assert.Equal(before, await FreeFramesAsync());
    }

    [Fact]
    public async Task Defect7_FailedContainerMap_LeavesFreeFramesExactlyAsBefore()
    {
        int container = (await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created)).GetProperty("id").GetInt32();
        await ReadJsonAsync(await PostAsync($"/containers/{container}/groups", $$"""{"group":{{await DeviceGroupAsync("02:00.0")}}}"""));
        int before = await FreeFramesAsync();
        // 512 GiB of 4 KiB pages needs far more than 64 table pages: refused whole.
        await ReadProblemAsync(await PostAsync($"/containers/{container}/dma", """{"iova":"0x0","hpa":"0x1000","size":"0x8000000000"}"""), HttpStatusCode.Conflict, "ENOSPC");
        Assert.Equal(before, await FreeFramesAsync());
        Assert.Empty((await GetJsonAsync($"/containers/{container}")).GetProperty("mappings").EnumerateArray());
    }

    [Fact]
    public async Task Defect8_HugeMaps_AnswerWithACleanError_AndChangeNothing()
    {
        int domain = await CreateDomainAsync();
        int before = await FreeFramesAsync();
        // 16 TiB with a 4 KiB-aligned HPA (4 Gi leaves) and with a 2 MiB-aligned one: the quota check comes first.
        await ReadProblemAsync(await PostAsync($"/domains/{domain}/mappings", """{"iova":"0x0","hpa":"0x7000001000","size":"0x100000000000"}"""), HttpStatusCode.Conflict, "ENOSPC");
        await ReadProblemAsync(await PostAsync($"/domains/{domain}/mappings", """{"iova":"0x0","hpa":"0x200000","size":"0x100000000000"}"""), HttpStatusCode.Conflict, "ENOSPC");
        // 16 TiB in 1 GiB pages fits: 16,384 leaves in 32 new tables (one per 512 GiB).
        await ReadJsonAsync(await PostAsync($"/domains/{domain}/mappings", """{"iova":"0x0","hpa":"0x0","size":"0x100000000000"}"""), HttpStatusCode.Created);
        Assert.Equal("0x100000000000", (await GetJsonAsync($"/domains/{domain}")).GetProperty("mapped_bytes").GetString());
        Assert.Equal(before - 32, await FreeFramesAsync());
        // A listing is bounded and pages on.
        using HttpResponseMessage page = await GetAsync($"/domains/{domain}/mappings?limit=100");
        Assert.Equal(100, (await ReadJsonAsync(page)).GetArrayLength());
        Assert.Contains("start=0x1900000000", page.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quotas_DomainsAndContainers_Are409Enospc_NamingTheLimit()
    {
        for (int i = 0; i < 4; i++)
            await CreateDomainAsync();
        await ReadProblemAsync(await PostAsync("/domains", """{"type":"unmanaged"}"""), HttpStatusCode.Conflict, "ENOSPC", "limit of 4");
        await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created);
        await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created);
        await ReadProblemAsync(await PostAsync("/containers"), HttpStatusCode.Conflict, "ENOSPC", "limit of 2");
        // A container's own domain counts too: with 4 domains alive it cannot attach a group.
        await ReadProblemAsync(await PostAsync("/containers/1/groups", $$"""{"group":{{await DeviceGroupAsync("02:00.0")}}}"""), HttpStatusCode.Conflict, "ENOSPC", "limit of 4");
    }

    [Theory]
    [InlineData("/domains/abc", "GET", null)]
    [InlineData("/domains/1/attachments", "POST", """{"device":"01:00.0","pasid":"x"}""")]
    [InlineData("/domains/1/attachments", "POST", """{"group":1.5}""")]
    [InlineData("/domains/1/mappings", "POST", """{"iova":1}""")]
    [InlineData("/translate?device=02:00.0&iova=0x0&pasid=-1", "GET", null)]
    [InlineData("/translate/batch", "POST", """{"requests":[{"device":"02:00.0","iova":"0x0","pasid":"one"}]}""")]
    public async Task ProblemDetails_NameNoDotNetTypes(string url, string method, string? body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = body == null ? null : Json(body) };
        using HttpResponseMessage response = await Client.SendAsync(request);
        string text = await ReadBodyAsync(response);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        foreach (string leak in new[] { "System.", "Nullable", "Siov.Fast", "Int32", "UInt32", "MapRequest", "AttachRequest" })
            Assert.DoesNotContain(leak, text, StringComparison.Ordinal);
    }
}
