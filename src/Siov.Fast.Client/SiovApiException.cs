namespace Siov.Fast.Client;

/// <summary>An error answer of the admin server: an RFC 9457 problem body, or a bare HTTP error status.</summary>
public sealed class SiovApiException : Exception
{
    /// <summary>Creates the exception for an answer with <paramref name="status"/>, errno <paramref name="code"/> and <paramref name="detail"/>.</summary>
    public SiovApiException(int status, string code, string detail)
        : base($"{status} {code}: {detail}")
    {
        Status = status;
        Code = code;
        Detail = detail;
    }

    /// <summary>Creates the exception with a message only (status 0, code EIO).</summary>
    public SiovApiException()
        : this(0, "EIO", "no answer")
    {
    }

    /// <summary>Creates the exception with a message only (status 0, code EIO).</summary>
    public SiovApiException(string message)
        : this(0, "EIO", message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it (status 0, code EIO).</summary>
    public SiovApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = "EIO";
        Detail = message;
    }

    /// <summary>The HTTP status (404, 409, ...).</summary>
    public int Status { get; }

    /// <summary>The kernel errno name the problem body carries in <c>code</c> (ENOENT, EBUSY, EINVAL, ...).</summary>
    public string Code { get; }

    /// <summary>The problem body's <c>detail</c>: what went wrong, for a person.</summary>
    public string Detail { get; }
}
