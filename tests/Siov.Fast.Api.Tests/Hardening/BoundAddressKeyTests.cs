using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace Siov.Fast.Api.Tests.Hardening;

/// <summary>
/// Defect 5: the API key is decided from the addresses the server really bound, whatever configured them.
/// These start the real server (Kestrel, not the in-memory test host) as a child process on port 0.
/// </summary>
public sealed partial class BoundAddressKeyTests
{
    private static readonly string ServerDll = Path.Combine(AppContext.BaseDirectory, "Siov.Fast.Api.dll");

    /// <summary>Starts the server; returns the process and, once it listens, its first address (null if it exited).</summary>
    private static async Task<(Process Process, string? Address, string Output)> StartAsync(IDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(ServerDll);
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        start.Environment.Remove("SIOV_API_KEY");
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment["Logging__Console__FormatterName"] = "simple";
        foreach ((string key, string value) in environment)
            start.Environment[key] = value;
        var process = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        var listening = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
                output.AppendLine(e.Data);
            if (e.Data != null && ListeningLine().Match(e.Data) is { Success: true } m)
                listening.TrySetResult(m.Groups["address"].Value);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
                output.AppendLine(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Task exited = process.WaitForExitAsync();
        // Bounded: a server that neither listens nor exits within a minute fails the test instead of hanging it.
        Task first = await Task.WhenAny(listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
        string? address = first == listening.Task ? await listening.Task : null;
        if (first == exited)
            await process.WaitForExitAsync(); // flushes the redirected output
        lock (output)
            return (process, address, output.ToString());
    }

    private static void Stop(Process process)
    {
        if (!process.HasExited)
            process.Kill(entireProcessTree: true);
        process.WaitForExit(10_000);
        process.Dispose();
    }

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

    [GeneratedRegex(@"siov admin server: platform \S+ on (?<address>http://[^,;\s]+)")]
    private static partial Regex ListeningLine();
}
