using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Siov.Fast.Api.Tests;

/// <summary>
/// A fresh server (fresh embedded default platform) per test class instance, so per test: xunit makes
/// one instance per test. It runs as Production, as the shipped server does (Development would switch on
/// behaviour the real server lacks, such as throwing on bad requests).
/// </summary>
public abstract class ApiTestHost : IDisposable
{
    protected ApiTestHost(params (string Key, string Value)[] settings)
    {
        Factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseEnvironment("Production");
            foreach ((string key, string value) in settings)
                b.UseSetting(key, value);
        });
        Client = Factory.CreateClient();
    }

    protected WebApplicationFactory<Program> Factory { get; }

    protected HttpClient Client { get; }

    public void Dispose()
    {
        Client.Dispose();
        Factory.Dispose();
        GC.SuppressFinalize(this);
    }

    protected static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    protected Task<HttpResponseMessage> GetAsync(string url) => Client.GetAsync(new Uri(url, UriKind.Relative));

    protected Task<HttpResponseMessage> PostAsync(string url, string? json = null) =>
        Client.PostAsync(new Uri(url, UriKind.Relative), json == null ? null : Json(json));

    protected Task<HttpResponseMessage> DeleteAsync(string url) => Client.DeleteAsync(new Uri(url, UriKind.Relative));

    /// <summary>Asserts the status and a JSON body (no stack trace in it) and returns the parsed body.</summary>
    protected static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        string body = await ReadBodyAsync(response);
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.Clone();
    }

    /// <summary>Asserts an RFC 9457 problem body: content type, status, errno code and type, and a detail containing every fragment.</summary>
    protected static async Task<JsonElement> ReadProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code, params string[] detailFragments)
    {
        string body = await ReadBodyAsync(response);
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(body);
        JsonElement problem = doc.RootElement.Clone();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.Equal("urn:siov-fast:errno:" + code, problem.GetProperty("type").GetString());
        string detail = problem.GetProperty("detail").GetString() ?? "";
        foreach (string fragment in detailFragments)
            Assert.True(detail.Contains(fragment, StringComparison.Ordinal), $"detail '{detail}' lacks '{fragment}'");
        return problem;
    }

    /// <summary>Reads the body as text and asserts it holds no .NET stack trace.</summary>
    protected static async Task<string> ReadBodyAsync(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        return body;
    }

    protected async Task<JsonElement> GetJsonAsync(string url) => await ReadJsonAsync(await GetAsync(url));

    /// <summary><c>GET /translate</c> for one DMA.</summary>
    protected async Task<JsonElement> TranslateAsync(string device, uint? pasid, ulong iova, string access = "read") =>
        await GetJsonAsync($"/translate?device={device}&iova=0x{iova:x}&access={access}" + (pasid is uint p ? $"&pasid={p}" : ""));

    /// <summary>The HPA of a successful translation (asserting it succeeded).</summary>
    protected static string HpaOf(JsonElement result)
    {
        Assert.True(result.GetProperty("ok").GetBoolean(), result.ToString());
        return result.GetProperty("hpa").GetString()!;
    }

    /// <summary>The fault code and reason of a failed translation (asserting it failed).</summary>
    protected static (string Code, string Reason) FaultOf(JsonElement result)
    {
        Assert.False(result.GetProperty("ok").GetBoolean(), result.ToString());
        JsonElement fault = result.GetProperty("fault");
        return (fault.GetProperty("code").GetString()!, fault.GetProperty("reason").GetString()!);
    }

    /// <summary>Creates an UNMANAGED domain and returns its id.</summary>
    protected async Task<int> CreateDomainAsync(string type = "unmanaged") =>
        (await ReadJsonAsync(await PostAsync("/domains", $$"""{"type":"{{type}}"}"""), HttpStatusCode.Created)).GetProperty("id").GetInt32();

    /// <summary>The default (DMA) domain of a device.</summary>
    protected async Task<int> DeviceDomainAsync(string bdf) => (await GetJsonAsync("/devices/" + bdf)).GetProperty("domain").GetInt32();

    /// <summary>The iommu group of a device.</summary>
    protected async Task<int> DeviceGroupAsync(string bdf) => (await GetJsonAsync("/devices/" + bdf)).GetProperty("group").GetInt32();

    protected static ByteArrayContent Binary(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }
}
