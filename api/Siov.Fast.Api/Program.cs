
// The admin server: a minimal API over the engine. It starts on 127.0.0.1:5080 unless --urls, ASPNETCORE_URLS or
// Kestrel:Endpoints say otherwise, on the embedded default platform (ModelledPlatform.CreateDefault).
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Siov.Fast.Api.Apis;
using Siov.Fast.Api.Durability;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Diagnostics;
using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using Siov.Fast.Iommu;

// "--ephemeral" is a bare switch; the configuration reads "--key=value".
args = [.. args.Select(a => a == "--ephemeral" ? "--ephemeral=true" : a)];
var builder = WebApplication.CreateBuilder(args);
// dotnet run keeps the caller's directory (RunWorkingDirectory) as the content root, where appsettings.json may not be:
// then the one shipped beside the server is read, as the lowest-priority source.
string shipped = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
if (!File.Exists(Path.Combine(builder.Environment.ContentRootPath, "appsettings.json")) && File.Exists(shipped))
{
    var json = new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource { Path = shipped, Optional = true };
    json.ResolveFileProvider();
    builder.Configuration.Sources.Insert(0, json);
}
if (string.IsNullOrEmpty(builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey)) && !builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
    builder.WebHost.UseUrls("http://127.0.0.1:5080");

builder.Services.AddOptions<SiovOptions>().Configure<IConfiguration>((o, c) => SiovOptions.Bind(c, o)).ValidateOnStart();
builder.Services.AddSingleton<IValidateOptions<SiovOptions>, SiovOptionsValidator>();
// Fails fast, before the server listens: a bad platform file is a start-up error. Registered by a factory so that the
// container disposes it at shutdown (the journal's lock goes with it).
builder.Services.AddSingleton(sp =>
{
    SiovOptions o = sp.GetRequiredService<IOptions<SiovOptions>>().Value;
    var coreOptions = new IommuCoreOptions { MaxDomains = o.Limits.MaxDomains, MaxTablePagesPerDomain = o.Limits.MaxTablePagesPerDomain };
    return new PlatformState(PlatformLoader.Load(o, coreOptions), o.Limits);
});
builder.Services.AddSingleton<ApiKeyMode>();
// The engine's meter over the loaded platform, read only when something collects (OpenTelemetry, dotnet-counters).
builder.Services.AddSingleton(sp => new SiovMeter(sp.GetRequiredService<PlatformState>().Platform, sp.GetRequiredService<IMeterFactory>()));
builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
    .AddMeter(SiovMeter.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Routing")
    .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0)); // every scrape reads the counters anew
builder.Services.AddSiovHealthChecks();
// No default scheme: only endpoints under the mutating policy authenticate (translation batches pay nothing).
builder.Services.AddAuthentication()
    .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
builder.Services.AddAuthorizationBuilder()
    .AddPolicy(ApiKeyAuthenticationHandler.MutatingPolicy, p => p.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName).RequireAuthenticatedUser());
builder.Services.ConfigureHttpJsonOptions(o =>
{
    o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
    o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
    o.SerializerOptions.MaxDepth = 16;
});
builder.Services.AddProblemDetails();
// A request that does not bind (malformed JSON, "abc" for an int id or query parameter) throws, so that
// ErrorMiddleware answers a problem body whose detail names the parameter, not a bare 400.
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
builder.Services.AddOpenApi(o => OpenApiDocumentSetup.Configure(o));

var app = builder.Build();
SiovOptions settings;
try
{
    settings = app.Services.GetRequiredService<IOptions<SiovOptions>>().Value;
    app.Services.GetRequiredService<PlatformState>();
    app.Services.GetRequiredService<SiovMeter>();
}
catch (Exception e) when (e is OptionsValidationException or InvalidOperationException)
{
    // One line naming the setting: "Siov:Limits:MaxDomains: The field MaxDomains must be between 1 and 1048576."
    Console.Error.WriteLine("siov admin server: " + (e is OptionsValidationException v ? string.Join("; ", v.Failures) : e.Message));
    return 2;
}
app.UseMiddleware<RequestLogMiddleware>();
app.UseMiddleware<ErrorMiddleware>();
app.UseStatusCodePages(async ctx =>
{
    // Routing misses (an unknown path, a wrong method) answer problem+json as well.
    HttpContext http = ctx.HttpContext;
    if (!http.Response.HasStarted && http.Response.ContentLength is null && string.IsNullOrEmpty(http.Response.ContentType))
    {
        int status = http.Response.StatusCode;
        string detail = status switch
        {
            404 => $"ENOENT: no such resource: {http.Request.Path}",
            405 => $"EINVAL: {http.Request.Method} is not allowed on {http.Request.Path}",
            413 => $"E2BIG: the request body is larger than {http.Request.Path} reads",
            415 => $"EINVAL: Content-Type '{http.Request.ContentType}' is not read by {http.Request.Path}; send application/json",
            _ => $"EINVAL: HTTP {status} for {http.Request.Path}",
        };
        string code = status switch { 404 => "ENOENT", 413 => "E2BIG", _ => "EINVAL" };
        await Problems.WriteAsync(http, code, status, detail);
    }
});
app.UseRouting();
app.UseAuthorization();
app.UseMiddleware<BodyLimitMiddleware>();

app.MapOpenApi("/openapi/v1.json"); // one document: other names are plain routing misses (404 problem bodies)
app.UseSwaggerUI(o =>
{
    o.SwaggerEndpoint("/openapi/v1.json", "Siov.Fast v1");
    o.RoutePrefix = "swagger";
});
app.MapGet("/", () => TypedResults.Redirect("/swagger")).ExcludeFromDescription();
// Prometheus text; a read, so outside the API key's policy like every GET.
app.MapPrometheusScrapingEndpoint("/metrics");
// Every mutating call needs the API key where one is required (translation batches change nothing: they are exempt).
RouteGroupBuilder api = app.MapGroup("");
((IEndpointConventionBuilder)api).Add(endpoint =>
{
    bool mutating = endpoint.Metadata.OfType<HttpMethodMetadata>().SelectMany(m => m.HttpMethods)
        .Any(m => !(HttpMethods.IsGet(m) || HttpMethods.IsHead(m) || HttpMethods.IsOptions(m)));
    if (mutating)
        endpoint.Metadata.Add(new AuthorizeAttribute(ApiKeyAuthenticationHandler.MutatingPolicy));
});
api.MapPlatformApi();
api.MapDomainsApi();
api.MapMdevApi();
api.MapMdevDefinitionsApi();
api.MapIommufdApi();
api.MapContainersApi();
api.MapFaultsApi();
api.MapTranslateApi();
api.MapSanitizerApi();

if (settings.Sanitize)
{
    Siov.Fast.Api.Apis.SanitizerApi.EnableAll(app.Services.GetRequiredService<PlatformState>().Platform);
}

// Durable state: take the state directory's lock, replay its journal into the fresh platform, then journal every
// mutating call. All of it before the server listens; a state that cannot be restored is a start-up error.
bool inMemoryHost = app.Services.GetRequiredService<IServer>().GetType().FullName == "Microsoft.AspNetCore.TestHost.TestServer";
StateSettings stateSettings = settings.State;
string stateDescription = "ephemeral (nothing is kept)";
if (!stateSettings.Ephemeral && !(inMemoryHost && stateSettings.Directory == null))
{
    PlatformState state = app.Services.GetRequiredService<PlatformState>();
    try
    {
        string directory = Path.GetFullPath(stateSettings.Directory ?? StateSettings.DefaultDirectory(state.Platform.Name));
        StateJournal journal = StateJournal.Open(directory, state.Platform.Name, stateSettings.MaxBytes,
            out List<JournalRecord> records, out List<string> warnings);
        try
        {
            foreach (string warning in warnings)
                StartupLog.StateWarning(app.Logger, warning);
            TimeSpan took = JournalReplay.Restore(state, records,
                app.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions);
            state.Journal = journal;
            // mdevctl's start: auto, as when a parent appears at boot (each start journalled like a call).
            foreach (string failure in MdevDefinitionsApi.StartAuto(state))
                StartupLog.StateWarning(app.Logger, failure);
            stateDescription = $"{directory} ({records.Count} calls restored in {took.TotalMilliseconds:F0} ms)";
        }
        catch
        {
            journal.Dispose();
            throw;
        }
    }
    catch (StateException e)
    {
        Console.Error.WriteLine("siov admin server: " + e.Message);
        return 2;
    }
}

// The key decision needs the addresses Kestrel really bound. It is made when the host has started (inside
// StartAsync, before an in-memory test host hands out its client); until then mutating calls need the key.
ApiKeyMode keyMode = app.Services.GetRequiredService<ApiKeyMode>();
string? refusal = null;
// The in-memory test host listens on no address at all: decide now, before it hands out a client.
if (inMemoryHost)
    keyMode.Decide([]);
app.Lifetime.ApplicationStarted.Register(() =>
{
    ICollection<string> addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
    refusal = keyMode.Decide([.. addresses]);
    if (refusal == null)
    {
        string platform = app.Services.GetRequiredService<PlatformState>().Platform.Name;
        string boundAddresses = string.Join(", ", addresses), keyDescription = keyMode.Describe();
        StartupLog.Listening(app.Logger, platform, boundAddresses, keyDescription, stateDescription);
    }
});
await app.StartAsync();
if (refusal != null)
{
    Console.Error.WriteLine("siov admin server: " + refusal);
    await app.StopAsync();
    return 2;
}
await app.WaitForShutdownAsync();
return 0;

/// <summary>Entry point, visible to WebApplicationFactory tests.</summary>
public partial class Program;
