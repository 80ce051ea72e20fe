using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>
/// RFC 9457 problem bodies. Every error carries <c>code</c>, the kernel errno name, as a stable
/// machine-readable code; <c>type</c> is <c>urn:siov-fast:errno:&lt;CODE&gt;</c>.
/// </summary>
internal static class Problems
{
    /// <summary>HTTP status for an errno: ENOENT 404; EEXIST, EBUSY, ENOSPC, EPERM, ENODEV 409; ENOMEM 507; the rest 400.</summary>
    public static int StatusOf(Errno code) => code switch
    {
        Errno.ENOENT => StatusCodes.Status404NotFound,
        Errno.EEXIST or Errno.EBUSY or Errno.ENOSPC or Errno.EPERM or Errno.ENODEV => StatusCodes.Status409Conflict,
        Errno.ENOMEM => StatusCodes.Status507InsufficientStorage,
        _ => StatusCodes.Status400BadRequest,
    };

    public static ProblemHttpResult From(IommuException e) => Create(e.Code, StatusOf(e.Code), e.Message);

    public static ProblemHttpResult NotFound(string detail) => Create(Errno.ENOENT, StatusCodes.Status404NotFound, "ENOENT: " + detail);

    public static ProblemHttpResult Invalid(string detail) => Create(Errno.EINVAL, StatusCodes.Status400BadRequest, "EINVAL: " + detail);

    public static ProblemHttpResult TooLarge(string detail) => Create("E2BIG", StatusCodes.Status413PayloadTooLarge, "E2BIG: " + detail);

    public static ProblemHttpResult Create(Errno code, int status, string detail) => Create(code.ToString(), status, detail);

    public static ProblemHttpResult Create(string code, int status, string detail) => TypedResults.Problem(Details(code, status, detail));

    public static ProblemDetails Details(string code, int status, string detail) => new()
    {
        Type = "urn:siov-fast:errno:" + code,
        Title = code,
        Status = status,
        Detail = detail,
        Extensions = { ["code"] = code },
    };

    /// <summary>Writes a problem body directly (middleware paths), with the request's trace id.</summary>
    public static Task WriteAsync(HttpContext context, string code, int status, string detail)
    {
        ProblemDetails problem = Details(code, status, detail);
        problem.Extensions["trace_id"] = Activity.Current?.Id ?? context.TraceIdentifier;
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(problem, (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json");
    }
}
