
namespace Siov.Fast.Api.Infrastructure;

/// <summary>The media types a batch route reads.</summary>
internal enum BatchMediaType
{
    /// <summary><c>application/json</c> (or <c>+json</c>).</summary>
    Json,

    /// <summary><c>application/octet-stream</c>: fixed-size binary records.</summary>
    Binary,
}
