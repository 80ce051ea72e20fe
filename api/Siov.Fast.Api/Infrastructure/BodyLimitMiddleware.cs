using Microsoft.AspNetCore.Http.Features;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>
/// Refuses a body by its declared length before anything reads it (413 E2BIG), and caps what Kestrel will read
/// of a body without a length (chunked) at the same limit, so no request can make the server buffer more.
/// Runs after routing, so each endpoint's own limit applies.
/// </summary>
internal sealed class BodyLimitMiddleware(RequestDelegate next, PlatformState state)
{
    public Task InvokeAsync(HttpContext context)
    {
        long limit = context.GetEndpoint()?.Metadata.GetMetadata<BodyLimitMetadata>()?.MaxBytes ?? state.Limits.MaxBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            return Problems.WriteAsync(context, "E2BIG", StatusCodes.Status413PayloadTooLarge,
                $"E2BIG: the body is {context.Request.ContentLength} bytes; {context.Request.Path} takes at most {limit} bytes");
        }
        IHttpMaxRequestBodySizeFeature? feature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false })
            feature.MaxRequestBodySize = limit;
        return next(context);
    }
}
