
namespace Siov.Fast.Api.Infrastructure;

/// <summary>An error of the HTTP layer itself (E2BIG, EOPNOTSUPP, ...), answered as a problem body by <see cref="ErrorMiddleware"/>.</summary>
internal sealed class ProblemException(string code, int status, string detail) : Exception(detail)
{
    /// <summary>The errno name.</summary>
    public string Code { get; } = code;

    /// <summary>The HTTP status.</summary>
    public int Status { get; } = status;

    /// <summary>413 E2BIG.</summary>
    public static ProblemException TooLarge(string detail) => new("E2BIG", StatusCodes.Status413PayloadTooLarge, "E2BIG: " + detail);

    /// <summary>415 with code EINVAL: the body's media type is not one the route reads.</summary>
    public static ProblemException UnsupportedMediaType(string detail) =>
        new("EINVAL", StatusCodes.Status415UnsupportedMediaType, "EINVAL: " + detail);
}
