using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace Siov.Fast.Api.Tests;

/// <summary><c>/metrics</c> (Prometheus text), <c>/healthz</c> and <c>/healthz/ready</c>, and the request log.</summary>
/// <remarks>Alone: OpenTelemetry listens to every meter named Siov.Fast in the process, so another test host's units
/// would show in this one's scrape.</remarks>
[Collection(RunsAlone.Name)]
public sealed partial class ObservabilityTests : ApiTestHost
{
    private async Task<string> ScrapeAsync()
    {
        HttpResponseMessage response = await GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    // The value of the first sample of a metric whose labels include every given one; null when there is none.
    private static long? Sample(string text, string metric, params string[] labels)
    {
        foreach (Match m in SampleLine().Matches(text))
        {
            if (m.Groups["name"].Value == metric && labels.All(l => m.Groups["labels"].Value.Contains(l, StringComparison.Ordinal)))
                return (long)double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        }
        return null;
    }

    [Fact]
    public async Task Metrics_MoveWithTranslationsOverHttp()
    {
        int id = await CreateDomainAsync();
        await ReadJsonAsync(await PostAsync($"/domains/{id}/mappings", """{"iova":"0x1000","hpa":"0x70001000","size":"0x1000","prot":"r"}"""), HttpStatusCode.Created);
        await ReadJsonAsync(await PostAsync($"/domains/{id}/attachments", """{"device":"02:00.0"}"""));
        JsonElement device = await GetJsonAsync("/devices/02:00.0");
        string unit = $"unit=\"{device.GetProperty("unit").GetString()}\"";
        string before = await ScrapeAsync();

        for (int i = 0; i < 5; i++)
            Assert.True((await GetJsonAsync("/translate?device=02:00.0&iova=0x1abc")).GetProperty("ok").GetBoolean());
        Assert.False((await GetJsonAsync("/translate?device=02:00.0&iova=0x9000")).GetProperty("ok").GetBoolean());
        string after = await ScrapeAsync();

        Assert.Equal(6, Sample(after, "siov_iommu_translations_total", unit) - Sample(before, "siov_iommu_translations_total", unit));
        Assert.True(Sample(after, "siov_iommu_iotlb_hits_total", unit) >= Sample(before, "siov_iommu_iotlb_hits_total", unit) + 4);
        Assert.Equal(1, Sample(after, "siov_iommu_faults_total", unit) - Sample(before, "siov_iommu_faults_total", unit));
        Assert.NotNull(Sample(after, "siov_iommu_faults_reported_total", unit, "reason=\""));
        Assert.True(Sample(after, "siov_iommu_map_calls_total") >= 1);
        Assert.True(Sample(after, "siov_iommu_table_frames_used") > 0);
        Assert.NotNull(Sample(after, "siov_iommu_invalidations_total", unit, "cache=\"device-tlb\""));
        // ASP.NET Core's own meters come with it.
        Assert.Contains("http_server_request_duration_seconds", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthz_StaysOk_AndReady_IsOkOnAnEphemeralServer()
    {
        Assert.Equal("ok", (await GetJsonAsync("/healthz")).GetProperty("status").GetString());
        Assert.Equal("ok", (await GetJsonAsync("/healthz/ready")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Ready_Is503_WhenTheJournalIsGone()
    {
        string directory = Path.Combine(Path.GetTempPath(), "siov-ready-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (WebApplicationFactory<Program> server = Durability.RestartTests.Server(directory))
            {
                using HttpClient client = server.CreateClient();
                HttpResponseMessage ready = await client.GetAsync(new Uri("/healthz/ready", UriKind.Relative));
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
                File.Delete(Path.Combine(directory, "state.db"));
                ready = await client.GetAsync(new Uri("/healthz/ready", UriKind.Relative));
                JsonElement body = await ReadJsonAsync(ready, HttpStatusCode.ServiceUnavailable);
                Assert.Equal("unhealthy", body.GetProperty("status").GetString());
                Assert.Contains("state.db", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
                // Liveness does not depend on the journal.
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
            }
        }
        finally
        {
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task RequestLog_OneLinePerRequest_WithoutTheKey()
    {
        var lines = new List<string>();
        using WebApplicationFactory<Program> server = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseEnvironment("Production");
            b.UseSetting("Siov:ApiKey", "secret-key-42");
            b.ConfigureLogging(l => l.AddProvider(new CaptureProvider(lines)));
        });
        using HttpClient client = server.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", "secret-key-42");
        await client.GetAsync(new Uri("/platform", UriKind.Relative));
        await client.PostAsync(new Uri("/domains", UriKind.Relative), Json("""{"type":"unmanaged"}"""));
        await client.GetAsync(new Uri("/nowhere?key=secret-key-42", UriKind.Relative));
        string[] logged;
        lock (lines)
            logged = [.. lines];
        Assert.Equal(3, logged.Length);
        Assert.Matches(@"^GET /platform 200 \d+\.\d ms$", logged[0]);
        Assert.Matches(@"^POST /domains 201 \d+\.\d ms$", logged[1]);
        Assert.Matches(@"^GET /nowhere 404 \d+\.\d ms$", logged[2]);
        Assert.DoesNotContain(logged, l => l.Contains("secret", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)(\{(?<labels>[^}]*)\})? (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();

    private sealed class CaptureProvider(List<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) =>
            categoryName == "Siov.Fast.Api.RequestLog" ? new Capture(lines) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public void Dispose()
        {
        }
    }

    private sealed class Capture(List<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (lines)
                lines.Add(formatter(state, exception));
        }
    }
}
