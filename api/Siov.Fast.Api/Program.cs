// The admin server. It starts on 127.0.0.1:5080 unless --urls or ASPNETCORE_URLS says otherwise.
var builder = WebApplication.CreateBuilder(args);
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
    builder.WebHost.UseUrls("http://127.0.0.1:5080");

var app = builder.Build();
app.MapGet("/healthz", () => Results.Ok(new { status = "ok" }));
app.MapGet("/", () => Results.Ok(new
{
    name = "Siov.Fast admin server",
    version = typeof(Siov.Fast.IommuException).Assembly.GetName().Version?.ToString(),
}));
app.Run();

/// <summary>Entry point, visible to WebApplicationFactory tests.</summary>
public partial class Program;
