using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Siov.Fast.Api.Tests.Fuzz;
using Xunit.Abstractions;

namespace Siov.Fast.Api.Tests;

/// <summary>
/// A bounded fuzz run generated from the server's own OpenAPI document (<c>GET /openapi/v1.json</c>).
/// After replaying the README's seed-002 setup (aux on 01:00.0, two mdevs, two containers with the NIC's
/// group 4 and the mdev groups, a domain with a mapping) so that ids exist, it sends thousands of requests
/// to every operation, sequentially and from a few concurrent clients: path parameters from known and
/// hostile values, query parameters from the schema and hostile hex, JSON bodies built from the request
/// schemas (fields dropped, nulled, mistyped; malformed JSON, arrays, huge numbers, deep nesting), random
/// binary bodies, random Content-Types; plus unknown paths and wrong methods. Every answer must keep the
/// API's error contract: no 5xx; every 4xx is an <c>application/problem+json</c> body with a string errno
/// <c>code</c> and a <c>status</c> equal to the HTTP status; no body carries a stack trace or a .NET type
/// name. All findings are collected and reported together, grouped by cause, with the seed
/// (<c>SIOV_FUZZ_SEED</c> overrides it; <c>SIOV_FUZZ_SCALE</c> multiplies the request counts). Each platform the server
/// can start on runs it (<see cref="OpenApiFuzzTests"/>, <see cref="ArmDemoOpenApiFuzzTests"/>).
/// </summary>
/// <param name="output">The test's output.</param>
/// <param name="nicGroup">The iommu group of the NIC 02:00.0 on the platform.</param>
/// <param name="settings">The server's settings (the platform).</param>
public abstract class OpenApiFuzzRun(ITestOutputHelper output, int nicGroup, params (string Key, string Value)[] settings) : ApiTestHost(settings)
{
    private const int DefaultSeed = 20_250_602;
    private const int SequentialRequests = 3000;
    private const int Workers = 4;
    private const int RequestsPerWorker = 400;
    private const int ReplenishEvery = 300;

    /// <summary>A hang guard, far above the few seconds a run takes; hitting it is itself a finding.</summary>
    private static readonly TimeSpan TimeCap = TimeSpan.FromSeconds(90);

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly FuzzReport report = new();
    private readonly FuzzPools pools = new();
    private readonly ServerErrorLog serverLog = new();
    private readonly Stopwatch clock = new();
    private int skipped;

    /// <summary>SIOV_FUZZ_TRACE=file writes every exchange there (method, url, body, status, answer), for debugging.</summary>
    private readonly StreamWriter? trace = Environment.GetEnvironmentVariable("SIOV_FUZZ_TRACE") is { Length: > 0 } path ? new StreamWriter(path, false, new UTF8Encoding(false)) { AutoFlush = true } : null;

    [Fact]
    public async Task OpenApiFuzz_EveryOperation_KeepsTheProblemContract()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("SIOV_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int s) ? s : DefaultSeed;
        double scale = double.TryParse(Environment.GetEnvironmentVariable("SIOV_FUZZ_SCALE"), NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && f > 0 ? f : 1;
        clock.Start();
        Factory.Services.GetRequiredService<ILoggerFactory>().AddProvider(serverLog);

        // The document.
        using HttpResponseMessage docResponse = await Client.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        string docText = await docResponse.Content.ReadAsStringAsync();
        Assert.True(docResponse.IsSuccessStatusCode, $"GET /openapi/v1.json answered {(int)docResponse.StatusCode}: {FuzzRequest.Clip(docText, 300)}");
        using JsonDocument document = JsonDocument.Parse(docText);
        var model = new OpenApiModel(document.RootElement);
        IReadOnlyList<FuzzOperation> operations = model.Operations;
        Assert.True(operations.Count >= 10, $"only {operations.Count} operations in the OpenAPI document");
        Dictionary<string, string[]> methodsByPath = operations.GroupBy(o => o.Path, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(o => o.Method).ToArray(), StringComparer.Ordinal);

        await SetupAsync();

        // Phase 1: one client, every operation first in document order, then at random.
        var rng = new Random(seed);
        var generator = new RequestGenerator(model, pools, rng);
        int sequential = (int)(SequentialRequests * scale);
        for (int i = 0; i < sequential && !OverTime(); i++)
        {
            if (i > 0 && i % ReplenishEvery == 0)
                await ReplenishAsync();
            FuzzOperation op = i < operations.Count ? operations[i] : operations[rng.Next(operations.Count)];
            double r = rng.NextDouble();
            FuzzRequest request = r < 0.03 ? generator.UnknownPath()
                : r < 0.06 ? generator.WrongMethod(op, methodsByPath[op.Path])
                : generator.For(op);
            await SendAsync(request);
        }

        // Phase 2: a few concurrent clients, each with its own generator seeded from the run's seed.
        int perWorker = (int)(RequestsPerWorker * scale);
        await Task.WhenAll(Enumerable.Range(1, Workers).Select(w => Task.Run(async () =>
        {
            var wrng = new Random(seed + (w * 7919));
            var wgen = new RequestGenerator(model, pools, wrng);
            for (int i = 0; i < perWorker && !OverTime(); i++)
            {
                FuzzOperation op = operations[wrng.Next(operations.Count)];
                await SendAsync(wrng.NextDouble() < 0.04 ? wgen.UnknownPath() : wgen.For(op));
            }
        })));

        // Phase 3: every path with a method it lacks, and unknown paths.
        await ReplenishAsync();
        foreach (FuzzOperation op in operations.DistinctBy(o => o.Path))
        {
            for (int k = 0; k < 2 && !OverTime(); k++)
                await SendAsync(generator.WrongMethod(op, methodsByPath[op.Path]));
        }
        foreach (FuzzRequest request in generator.EveryUnknownPath().ToList())
        {
            if (!OverTime())
                await SendAsync(request);
        }

        clock.Stop();
        trace?.Dispose();
        string summary = $"OpenAPI fuzz: seed {seed} (SIOV_FUZZ_SEED), {operations.Count} operations, {report.Sent} requests "
            + $"({skipped} not sendable through the test host) in {clock.Elapsed.TotalSeconds:F1} s; {report.Findings} findings in {report.Groups} groups; "
            + report.StatusSummary();
        output.WriteLine(summary);
        output.WriteLine(report.OperationSummary());
        output.WriteLine("known ids at the end: " + pools);
        var problems = new StringBuilder();
        foreach (FuzzOperation op in operations.Where(o => !report.WasSent(o.Method, o.Path)))
            problems.AppendLine(CultureInfo.InvariantCulture, $"{op} was never sent");
        if (clock.Elapsed > TimeCap)
            problems.AppendLine(CultureInfo.InvariantCulture, $"the time cap of {TimeCap.TotalSeconds} s was hit after {report.Sent} requests");
        if (report.Sent < 2000 * Math.Min(1, scale))
            problems.AppendLine(CultureInfo.InvariantCulture, $"only {report.Sent} requests were sent (at least 2000 expected)");
        string findings = report.Format();
        output.WriteLine(findings);
        Assert.True(report.Findings == 0 && problems.Length == 0,
            $"seed {seed}: {report.Findings} responses broke the API's error contract ({report.Groups} distinct groups):{Environment.NewLine}{problems}{findings}{Environment.NewLine}{summary}");
    }

    private bool OverTime() => clock.Elapsed > TimeCap;

    /// <summary>The README's seed-002 session, so that fuzzed requests meet live devices, groups, domains, containers and mdevs.</summary>
    private async Task SetupAsync()
    {
        await StepAsync("POST", "/devices/01:00.0/features/aux", "/devices/{bdf}/features/aux");
        string? groupA = (await StepAsync("POST", "/mdevs", "/mdevs", """{"parent":"01:00.0","type":"idxd-wq"}""")).Value("group");
        string? groupB = (await StepAsync("POST", "/mdevs", "/mdevs", """{"parent":"01:00.0","type":"idxd-wq"}""")).Value("group");
        string? vm1 = (await StepAsync("POST", "/containers", "/containers")).Value("id");
        await StepAsync("POST", $"/containers/{vm1}/groups", "/containers/{id}/groups", $$"""{"group":{{nicGroup}}}""");
        await StepAsync("POST", $"/containers/{vm1}/groups", "/containers/{id}/groups", $$"""{"group":{{groupA}}}""");
        await StepAsync("POST", $"/containers/{vm1}/dma", "/containers/{id}/dma", """{"iova":"0x0","hpa":"0x4000000000","size":"0x4000000","prot":"rw"}""");
        string? vm2 = (await StepAsync("POST", "/containers", "/containers")).Value("id");
        await StepAsync("POST", $"/containers/{vm2}/groups", "/containers/{id}/groups", $$"""{"group":{{groupB}}}""");
        await StepAsync("POST", $"/containers/{vm2}/dma", "/containers/{id}/dma", """{"iova":"0x0","hpa":"0x5000000000","size":"0x4000000","prot":"rw"}""");
        string? domain = (await StepAsync("POST", "/domains", "/domains", """{"type":"unmanaged"}""")).Value("id");
        await StepAsync("POST", $"/domains/{domain}/mappings", "/domains/{id}/mappings", """{"iova":"0x100000","hpa":"0x6000000000","size":"0x200000","prot":"rw"}""");
        await StepAsync("GET", "/translate?device=01:00.0&pasid=1&iova=0x12345&access=write", "/translate");
        foreach (string list in new[] { "/devices", "/groups", "/domains", "/mdevs", "/containers" })
            await StepAsync("GET", list, list);
    }

    /// <summary>Fresh objects now and then, since the fuzzer deletes what it finds.</summary>
    private async Task ReplenishAsync()
    {
        await SendAsync(Step("POST", "/devices/01:00.0/features/aux", "/devices/{bdf}/features/aux", null));
        await SendAsync(Step("POST", "/mdevs", "/mdevs", """{"parent":"01:00.0","type":"idxd-wq"}"""));
        await SendAsync(Step("POST", "/containers", "/containers", null));
        await SendAsync(Step("POST", "/domains", "/domains", """{"type":"unmanaged"}"""));
        await SendAsync(Step("GET", "/domains", "/domains", null));
    }

    private static FuzzRequest Step(string method, string url, string route, string? json) =>
        new(method, url, route, json == null ? null : "application/json", json == null ? null : Encoding.UTF8.GetBytes(json), "setup");

    private async Task<Answer> StepAsync(string method, string url, string route, string? json = null)
    {
        Answer answer = await SendAsync(Step(method, url, route, json));
        if (answer.Status is not (>= 200 and < 300))
            report.Add(new FuzzFinding(Step(method, url, route, json), answer.Status, null, answer.Start, [$"setup step answered {answer.Status}, expected 2xx"], null), null, null);
        return answer;
    }

    /// <summary>Sends one request, checks the answer against the contract and learns ids from a successful JSON answer.</summary>
    private async Task<Answer> SendAsync(FuzzRequest request)
    {
        HttpRequestMessage message;
        try
        {
            // Absolute, so that a path such as "//" stays a path and is not read as a network-path reference.
            var uri = new Uri(Client.BaseAddress!.GetLeftPart(UriPartial.Authority) + request.Url, UriKind.Absolute);
            message = new HttpRequestMessage(new HttpMethod(request.Method), uri);
            if (request.Body != null || request.ContentType != null)
            {
                var content = new ByteArrayContent(request.Body ?? []);
                if (request.ContentType != null)
                    content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
                message.Content = content;
            }
        }
        catch (Exception e) when (e is UriFormatException or FormatException or ArgumentException)
        {
            Interlocked.Increment(ref skipped);
            return new Answer(0, "", default);
        }

        using (message)
        using (var cts = new CancellationTokenSource(RequestTimeout))
        {
            try
            {
                using HttpResponseMessage response = await Client.SendAsync(message, cts.Token);
                byte[] body = await response.Content.ReadAsByteArrayAsync(cts.Token);
                int status = (int)response.StatusCode;
                string? mediaType = response.Content.Headers.ContentType?.MediaType;
                report.Count(request, status);
                if (trace != null)
                {
                    string line = $"{request.Kind}\t{request.Method} {request.Route}\t{status}\t{FuzzRequest.Clip(request.Url, 200)}\t{request.BodySummary}\t{FuzzRequest.Clip(Encoding.UTF8.GetString(body), 300)}";
                    lock (trace)
                        trace.WriteLine(line);
                }
                string start = mediaType == "application/octet-stream"
                    ? $"{body.Length} bytes binary"
                    : FuzzRequest.Clip(Encoding.UTF8.GetString(body), 300);
                List<string> violations = FuzzReport.Check(request, status, mediaType, body, out string? detail, out string? code, out string? traceId);
                if (violations.Count > 0)
                {
                    string? cause = status >= 500 ? serverLog.For(traceId) : null;
                    report.Add(new FuzzFinding(request, status, response.Content.Headers.ContentType?.ToString(), start, violations, cause), detail, code);
                }
                if (request.Method == "DELETE" && status == 204)
                    pools.Deleted(request.Url);
                JsonElement json = default;
                if (status is >= 200 and < 300 && mediaType == "application/json")
                {
                    try
                    {
                        using var doc = JsonDocument.Parse(body);
                        json = doc.RootElement.Clone();
                        pools.Learn(request.Url, json);
                    }
                    catch (JsonException)
                    {
                        // Already a finding.
                    }
                }
                return new Answer(status, start, json);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                report.Count(request, 0);
                report.Add(new FuzzFinding(request, 0, null, "", [$"no answer within {RequestTimeout.TotalSeconds} s"], null), null, null);
            }
            catch (InvalidOperationException e) when (e.Message.Contains("null characters", StringComparison.Ordinal))
            {
                // The test host's client decodes the path and refuses a NUL in it before the server sees it
                // (Kestrel answers such a request line 400 itself): not sendable here.
                Interlocked.Increment(ref skipped);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or InvalidOperationException)
            {
                report.Count(request, 0);
                report.Add(new FuzzFinding(request, 0, null, "", [$"the exchange failed: {e.GetType().Name}: {e.Message}"], null), null, null);
            }
            return new Answer(0, "", default);
        }
    }

    private readonly record struct Answer(int Status, string Start, JsonElement Json)
    {
        /// <summary>A top-level property of a JSON object answer, as raw text (strings unquoted).</summary>
        public string? Value(string name) =>
            Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty(name, out JsonElement v)
                ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText()
                : null;
    }
}
