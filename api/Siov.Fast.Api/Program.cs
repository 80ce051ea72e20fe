// The admin server: a minimal API over the engine. It starts on 127.0.0.1:5080 unless --urls or
// ASPNETCORE_URLS says otherwise, on the embedded default platform (ModelledPlatform.CreateDefault).
using System.Text.Json;
using System.Text.Json.Serialization;
using Siov.Fast.Api.Apis;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Platforms;

var builder = WebApplication.CreateBuilder(args);
// dotnet run keeps the caller's directory (RunWorkingDirectory), so appsettings.json may not be there: log levels live here.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
string urls = builder.Configuration["urls"] ?? "";
if (string.IsNullOrEmpty(urls))
{
    urls = "http://127.0.0.1:5080";
    builder.WebHost.UseUrls(urls);
}

try
{
    // Both fail fast, before the server listens: a bad platform file or a missing API key is a start-up error.
    builder.Services.AddSingleton(ApiKeyOptions.From(builder.Configuration, urls));
    builder.Services.AddSingleton(new PlatformState(PlatformLoader.Load(builder.Configuration)));
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine("siov admin server: " + e.Message);
    return 2;
}
builder.Services.ConfigureHttpJsonOptions(o =>
{
    o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
    o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
});
builder.Services.AddProblemDetails();
// A request that does not bind (malformed JSON, "abc" for an int id or query parameter) throws, so that
// ErrorMiddleware answers a problem body whose detail names the parameter, not a bare 400.
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
builder.Services.AddOpenApi(o => o.AddDocumentTransformer((doc, _, _) =>
{
    doc.Info.Title = "Siov.Fast admin API";
    doc.Info.Description = "Platforms, iommu groups, domains, aux domains, mdevs, VFIO containers and DMA translation. "
        + "Errors are RFC 9457 problem+json bodies whose 'code' is the kernel errno name.";
    return Task.CompletedTask;
}));

var app = builder.Build();
app.UseMiddleware<ErrorMiddleware>();
app.UseStatusCodePages(async ctx =>
{
    // Routing misses (an unknown path, a wrong method) answer problem+json as well.
    HttpContext http = ctx.HttpContext;
    if (!http.Response.HasStarted && http.Response.ContentLength is null && string.IsNullOrEmpty(http.Response.ContentType))
    {
        int status = http.Response.StatusCode;
        await Problems.WriteAsync(http, status == 404 ? "ENOENT" : "EINVAL", status,
            (status == 404 ? "ENOENT: no such resource: " : $"EINVAL: HTTP {status} for ") + http.Request.Path);
    }
});
app.UseMiddleware<ApiKeyMiddleware>();

app.MapOpenApi();
app.UseSwaggerUI(o =>
{
    o.SwaggerEndpoint("/openapi/v1.json", "Siov.Fast v1");
    o.RoutePrefix = "swagger";
});
app.MapGet("/", () => TypedResults.Redirect("/swagger")).ExcludeFromDescription();
app.MapPlatformApi();
app.MapDomainsApi();
app.MapMdevApi();
app.MapContainersApi();
app.MapFaultsApi();
app.MapTranslateApi();
app.Run();
return 0;

/// <summary>Entry point, visible to WebApplicationFactory tests.</summary>
public partial class Program;
