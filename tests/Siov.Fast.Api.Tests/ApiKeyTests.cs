using System.Net;
using System.Net.Http.Headers;

namespace Siov.Fast.Api.Tests;

/// <summary><c>Siov:RequireApiKey</c>: mutating calls need the key; reads and translation batches do not.</summary>
public sealed class ApiKeyTests : ApiTestHost
{
    private const string Key = "test-key-0123456789";

    public ApiKeyTests() : base(("Siov:RequireApiKey", "true"), ("Siov:ApiKey", Key))
    {
    }

    private async Task<HttpResponseMessage> PostDomainAsync(Action<HttpRequestHeaders>? headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/domains") { Content = Json("""{"type":"unmanaged"}""") };
        headers?.Invoke(request.Headers);
        return await Client.SendAsync(request);
    }

    [Fact]
    public async Task Mutating_WithoutKey_401Eperm()
    {
        await ReadProblemAsync(await PostDomainAsync(null), HttpStatusCode.Unauthorized, "EPERM", "X-Api-Key");
        await ReadProblemAsync(await DeleteAsync("/faults"), HttpStatusCode.Unauthorized, "EPERM");
        await ReadProblemAsync(await PostAsync("/devices/01:00.0/features/aux"), HttpStatusCode.Unauthorized, "EPERM");
        Assert.False((await GetJsonAsync("/devices/01:00.0")).GetProperty("aux_enabled").GetBoolean()); // nothing changed
    }

    [Fact]
    public async Task Mutating_WithKey_Succeeds()
    {
        await ReadJsonAsync(await PostDomainAsync(h => h.Add("X-Api-Key", Key)), HttpStatusCode.Created);
        await ReadJsonAsync(await PostDomainAsync(h => h.Authorization = new AuthenticationHeaderValue("Bearer", Key)), HttpStatusCode.Created);
    }

    [Theory]
    [InlineData("x")]                          // shorter
    [InlineData(Key + "-and-more")]            // longer
    [InlineData("test-key-0123456788")]        // same length, one character off
    [InlineData("")]
    public async Task Mutating_WrongKey_401(string wrong)
    {
        await ReadProblemAsync(await PostDomainAsync(h => h.Add("X-Api-Key", wrong)), HttpStatusCode.Unauthorized, "EPERM");
        await ReadProblemAsync(await PostDomainAsync(h => h.Authorization = new AuthenticationHeaderValue("Bearer", wrong == "" ? "-" : wrong)), HttpStatusCode.Unauthorized, "EPERM");
    }

    [Fact]
    public async Task Reads_NeedNoKey()
    {
        foreach (string url in new[] { "/healthz", "/healthz/ready", "/platform", "/devices", "/groups", "/domains", "/mdevs", "/containers", "/faults", "/stats", "/translate?device=02:00.0&iova=0x0" })
            await ReadJsonAsync(await GetAsync(url));
        HttpResponseMessage metrics = await GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("siov_iommu_translations_total", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TranslateBatch_NeedsNoKey()
    {
        await ReadJsonAsync(await PostAsync("/translate/batch", """{"requests":[{"device":"02:00.0","iova":"0x0"}]}"""));
        byte[] record = new byte[16];
        record[13] = 0x02; // requester id 0x0200
        record[14] = 1;
        using HttpResponseMessage binary = await Client.PostAsync(new Uri("/translate/batch", UriKind.Relative), Binary(record));
        Assert.Equal(HttpStatusCode.OK, binary.StatusCode);
    }
}
