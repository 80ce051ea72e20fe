using System.Text.Json;
using System.Text.RegularExpressions;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>
/// Turns what handlers throw into problem bodies: an <see cref="IommuException"/> by its errno, a
/// <see cref="ProblemException"/> as it says, a malformed request (bad JSON, a wrong parameter type, a body over
/// the limit) as 400 EINVAL or 413 E2BIG, anything else as 500 without internals. No stack trace and no .NET
/// type name reaches a response.
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
        catch (ProblemException e) when (!context.Response.HasStarted)
        {
            await Problems.WriteAsync(context, e.Code, e.Status, e.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            // Kestrel's body limit surfaces as a 413 somewhere in the chain (the binder wraps it in a 400).
            if (Chain(e).OfType<BadHttpRequestException>().Any(b => b.StatusCode == StatusCodes.Status413PayloadTooLarge))
            {
                await Problems.WriteAsync(context, "E2BIG", StatusCodes.Status413PayloadTooLarge,
                    "E2BIG: the request body is larger than this route reads").ConfigureAwait(false);
                return;
            }
            int status = e.StatusCode == StatusCodes.Status415UnsupportedMediaType ? e.StatusCode : StatusCodes.Status400BadRequest;
            await Problems.WriteAsync(context, "EINVAL", status, "EINVAL: " + Describe(e)).ConfigureAwait(false);
        }
        catch (JsonException e) when (!context.Response.HasStarted)
        {
            await Problems.WriteAsync(context, "EINVAL", StatusCodes.Status400BadRequest, "EINVAL: malformed JSON: " + JsonErrors.Describe(e)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nobody is left to answer.
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            LogUnhandled(logger, e, context.Request.Method, context.Request.Path);
            await Problems.WriteAsync(context, "EIO", StatusCodes.Status500InternalServerError, "EIO: internal error (see the server log)").ConfigureAwait(false);
        }
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x != null; x = x.InnerException)
            yield return x;
    }

    /// <summary>The binder's messages name CLR types ("Failed to bind parameter \"Nullable&lt;uint&gt; pasid\""); say what was wrong instead.</summary>
    private static string Describe(BadHttpRequestException e)
    {
        if (Chain(e).OfType<JsonException>().FirstOrDefault() is { } json)
            return "malformed JSON body: " + JsonErrors.Describe(json);
        Match bind = BindFailure().Match(e.Message);
        if (bind.Success)
            return $"parameter '{bind.Groups["name"].Value}' is '{Clip(bind.Groups["value"].Value)}', expected {Expected(bind.Groups["type"].Value)}";
        Match missing = MissingParameter().Match(e.Message);
        if (missing.Success)
        {
            return missing.Groups["source"].Value == "body"
                ? "the request body is missing (send a JSON object)"
                : $"{missing.Groups["source"].Value} parameter '{missing.Groups["name"].Value}' is missing";
        }
        if (e.StatusCode == StatusCodes.Status415UnsupportedMediaType)
            return $"Content-Type '{Clip(e.Message.Split('"').ElementAtOrDefault(1) ?? "")}' is not read here; send application/json";
        return "malformed request";
    }

    private static string Expected(string type)
    {
        string t = type.Replace("Nullable<", "", StringComparison.Ordinal).TrimEnd('>', '?');
        return t switch
        {
            "int" or "long" => "an integer",
            "uint" or "ulong" => "a non-negative integer",
            "bool" => "true or false",
            _ => "a valid value",
        };
    }

    private static string Clip(string value) => value.Length <= 64 ? value : value[..64] + "...";

    [GeneratedRegex("""^Failed to bind parameter "(?<type>.+) (?<name>\w+)" from "(?<value>.*)"\.$""", RegexOptions.Singleline)]
    private static partial Regex BindFailure();

    [GeneratedRegex("""^Required parameter "(?<type>.+) (?<name>\w+)" was not provided from (?<source>\w+)""", RegexOptions.Singleline)]
    private static partial Regex MissingParameter();

    [LoggerMessage(Level = LogLevel.Error, Message = "unhandled error on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
