using System.Diagnostics;
using System.Net;

namespace Siov.Fast.Api.Tests.Hardening;

/// <summary>
/// Defect 5: the API key is decided from the addresses the server really bound, whatever configured them.
/// These start the real server (Kestrel, not the in-memory test host) as a child process on port 0.
/// </summary>
public sealed class BoundAddressKeyTests
{
    // These servers share no state (the default directory would be one lock).
    private static Task<(Process Process, string? Address, string Output)> StartAsync(IDictionary<string, string> environment, params string[] args) =>
        RealServer.StartAsync(environment, [.. args, "--ephemeral"]);

    private static void Stop(Process process) => RealServer.Stop(process);

    [Theory]
    [InlineData("--Kestrel:Endpoints:Http:Url=http://0.0.0.0:0")]
    [InlineData("--urls=http://0.0.0.0:0")]
    [InlineData("--urls=http://127.0.0.1:0;http://[::]:0")]
    public async Task NonLoopbackWithoutKey_RefusesToStart_Exit2(string arg)
    {
        (Process process, string? address, string output) = await StartAsync(new Dictionary<string, string>(), arg);
        try
        {
            Assert.Null(address);
            Assert.True(process.HasExited, output);
            Assert.Equal(2, process.ExitCode);
            Assert.Contains("API key", output, StringComparison.Ordinal);
        }
        finally
        {
            Stop(process);
        }
    }

    [Fact]
    public async Task NonLoopbackFromEnvironmentKestrelEndpoint_WithoutKey_RefusesToStart()
    {
        (Process process, string? address, string output) = await StartAsync(new Dictionary<string, string> { ["Kestrel__Endpoints__Http__Url"] = "http://0.0.0.0:0" });
        try
        {
            Assert.Null(address);
            Assert.Equal(2, process.ExitCode);
            Assert.Contains("0.0.0.0", output, StringComparison.Ordinal);
        }
        finally
        {
            Stop(process);
        }
    }

    [Fact]
    public async Task NonLoopbackWithKey_MutatingCallsNeedIt()
    {
        (Process process, string? address, string output) = await StartAsync(
            new Dictionary<string, string> { ["SIOV_API_KEY"] = "k-123" }, "--Kestrel:Endpoints:Http:Url=http://0.0.0.0:0");
        try
        {
            Assert.True(address != null, output);
            var uri = new Uri(address!.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
            using var client = new HttpClient { BaseAddress = uri };
            using (var content = new StringContent("""{"type":"unmanaged"}""", System.Text.Encoding.UTF8, "application/json"))
            using (HttpResponseMessage refused = await client.PostAsync(new Uri("/domains", UriKind.Relative), content))
                Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/domains") { Content = new StringContent("""{"type":"unmanaged"}""", System.Text.Encoding.UTF8, "application/json") };
            request.Headers.Add("X-Api-Key", "k-123");
            using (HttpResponseMessage created = await client.SendAsync(request))
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            using (HttpResponseMessage read = await client.GetAsync(new Uri("/domains", UriKind.Relative)))
                Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }
        finally
        {
            Stop(process);
        }
    }

    [Fact]
    public async Task LoopbackWithoutKey_MutatingCallsNeedNoKey()
    {
        (Process process, string? address, string output) = await StartAsync(new Dictionary<string, string>(), "--urls=http://127.0.0.1:0");
        try
        {
            Assert.True(address != null, output);
            using var client = new HttpClient { BaseAddress = new Uri(address!) };
            using var content = new StringContent("""{"type":"unmanaged"}""", System.Text.Encoding.UTF8, "application/json");
            using HttpResponseMessage created = await client.PostAsync(new Uri("/domains", UriKind.Relative), content);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        finally
        {
            Stop(process);
        }
    }

    /// <summary>Defect 6 on the real server: a body sent without a length (chunked) is cut at the route's limit while it is read.</summary>
    [Fact]
    public async Task ChunkedBodyOverTheLimit_Is413E2big()
    {
        (Process process, string? address, string output) = await StartAsync(new Dictionary<string, string>(), "--urls=http://127.0.0.1:0");
        try
        {
            Assert.True(address != null, output);
            using var client = new HttpClient { BaseAddress = new Uri(address!) };
            byte[] body = System.Text.Encoding.UTF8.GetBytes("{\"type\":\"unmanaged\"," + new string(' ', 200_000) + "}");
            using var content = new StreamContent(new MemoryStream(body)); // no length: sent chunked
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using HttpResponseMessage response = await client.PostAsync(new Uri("/domains", UriKind.Relative), content);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Contains("\"code\":\"E2BIG\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        finally
        {
            Stop(process);
        }
    }

}
