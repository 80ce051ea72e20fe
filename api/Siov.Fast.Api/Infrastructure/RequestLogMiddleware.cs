using System.Diagnostics;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>
/// The request log: one Information line per request when its response is done, with method, path, status and duration
/// in milliseconds, under the category <c>Siov.Fast.Api.RequestLog</c> (set it to Warning in <c>Logging:LogLevel</c> to
/// silence it). No query string, no body, no header: the API key never reaches it.
/// </summary>
internal sealed partial class RequestLogMiddleware(RequestDelegate next, ILoggerFactory loggers)
{
    /// <summary>The log category.</summary>
    public const string Category = "Siov.Fast.Api.RequestLog";

    private readonly ILogger _logger = loggers.CreateLogger(Category);

    /// <summary>Runs the rest of the pipeline, then logs the request.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        if (!_logger.IsEnabled(LogLevel.Information))
        {
            await next(context);
            return;
        }
        long start = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            double milliseconds = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            string path = context.Request.Path.Value ?? "/";
            Completed(_logger, context.Request.Method, path, context.Response.StatusCode, milliseconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method} {Path} {Status} {DurationMs:F1} ms")]
    private static partial void Completed(ILogger logger, string method, string path, int status, double durationMs);
}
