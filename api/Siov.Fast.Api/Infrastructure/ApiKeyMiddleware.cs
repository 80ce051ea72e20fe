using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>Where the server listens and whether mutating calls need an API key.</summary>
internal sealed record ApiKeyOptions(bool Required, byte[]? KeyHash)
{
    /// <summary>
    /// A key is required when any configured URL binds to an address other than loopback, or when
    /// <c>Siov:RequireApiKey</c> says so. The key comes from <c>Siov:ApiKey</c> (e.g. <c>--Siov:ApiKey</c>,
    /// <c>Siov__ApiKey</c>) or the <c>SIOV_API_KEY</c> environment variable; only its SHA-256 is kept.
    /// </summary>
    public static ApiKeyOptions From(IConfiguration config, string urls)
    {
        string? key = config["Siov:ApiKey"] ?? Environment.GetEnvironmentVariable("SIOV_API_KEY");
        bool required = config.GetValue<bool>("Siov:RequireApiKey")
            || urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Any(u => !IsLoopback(u));
        if (required && string.IsNullOrEmpty(key))
            throw new InvalidOperationException(
                $"listening on '{urls}' (beyond loopback) needs an API key for mutating calls: set SIOV_API_KEY or --Siov:ApiKey");
        return new ApiKeyOptions(required, string.IsNullOrEmpty(key) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

    private static bool IsLoopback(string url)
    {
        if (!Uri.TryCreate(url.Replace("://*", "://any", StringComparison.Ordinal).Replace("://+", "://any", StringComparison.Ordinal), UriKind.Absolute, out Uri? uri))
            return false;
        string host = uri.Host.Trim('[', ']');
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out IPAddress? ip) && IPAddress.IsLoopback(ip));
    }
}

/// <summary>
/// Refuses mutating calls (POST, PUT, PATCH, DELETE; translation batches excepted, which change
/// nothing) without the right key in <c>X-Api-Key</c> or <c>Authorization: Bearer</c>. The keys are
/// compared as SHA-256 digests in constant time; neither is logged.
/// </summary>
internal sealed class ApiKeyMiddleware(RequestDelegate next, ApiKeyOptions options)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (!options.Required || !IsMutating(context.Request))
            return next(context);
        string? presented = context.Request.Headers["X-Api-Key"].FirstOrDefault();
        string? bearer = context.Request.Headers.Authorization.FirstOrDefault();
        if (presented == null && bearer?.StartsWith("Bearer ", StringComparison.Ordinal) == true)
            presented = bearer["Bearer ".Length..];
        if (presented != null && options.KeyHash != null
            && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), options.KeyHash))
            return next(context);
        return Problems.WriteAsync(context, "EPERM", StatusCodes.Status401Unauthorized,
            "EPERM: mutating calls on this server need the API key in X-Api-Key (or Authorization: Bearer)");
    }

    private static bool IsMutating(HttpRequest request) =>
        !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method))
        && !(HttpMethods.IsPost(request.Method) && request.Path.StartsWithSegments("/translate", StringComparison.Ordinal));
}

/// <summary>
/// Turns what handlers throw into problem bodies: an <see cref="IommuException"/> by its errno, a
/// malformed request (bad JSON, a wrong parameter type) as 400 EINVAL, anything else as 500 without
/// internals. No stack trace reaches a response.
/// </summary>
internal sealed partial class ErrorMiddleware(RequestDelegate next, ILogger<ErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (IommuException e) when (!context.Response.HasStarted)
        {
            await Problems.WriteAsync(context, e.Code.ToString(), Problems.StatusOf(e.Code), e.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            int status = e.StatusCode is StatusCodes.Status413PayloadTooLarge or StatusCodes.Status415UnsupportedMediaType
                ? e.StatusCode : StatusCodes.Status400BadRequest;
            string detail = e.InnerException is System.Text.Json.JsonException json ? $"{e.Message} {json.Message}" : e.Message;
            await Problems.WriteAsync(context, status == 413 ? "E2BIG" : "EINVAL", status, (status == 413 ? "E2BIG: " : "EINVAL: ") + detail).ConfigureAwait(false);
        }
        catch (System.Text.Json.JsonException e) when (!context.Response.HasStarted)
        {
            await Problems.WriteAsync(context, "EINVAL", StatusCodes.Status400BadRequest, "EINVAL: malformed JSON: " + e.Message).ConfigureAwait(false);
        }
        catch (Exception e) when (!context.Response.HasStarted && e is not OperationCanceledException)
        {
            LogUnhandled(logger, e, context.Request.Method, context.Request.Path);
            await Problems.WriteAsync(context, "EIO", StatusCodes.Status500InternalServerError, "EIO: internal error (see the server log)").ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "unhandled error on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
