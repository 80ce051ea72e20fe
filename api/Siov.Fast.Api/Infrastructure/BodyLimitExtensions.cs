
namespace Siov.Fast.Api.Infrastructure;

/// <summary>Extensions that declare an endpoint's body limit.</summary>
internal static class BodyLimitExtensions
{
    /// <summary>Lets the endpoint read bodies of up to <paramref name="maxBytes"/> bytes.</summary>
    public static RouteHandlerBuilder WithBodyLimit(this RouteHandlerBuilder builder, long maxBytes) =>
        builder.WithMetadata(new BodyLimitMetadata(maxBytes));
}
