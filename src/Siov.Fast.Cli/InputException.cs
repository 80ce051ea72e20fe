namespace Siov.Fast.Cli;

/// <summary>An input file that <c>siov</c> cannot use, with the kernel errno name that says why
/// (ENOENT, EISDIR, EACCES, EIO, EINVAL); printed as <c>siov: PATH: CODE: message</c>.</summary>
internal sealed class InputException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">The errno name.</param>
    /// <param name="message">What is wrong with the file, without the path or the code.</param>
    public InputException(string code, string message)
        : base(code + ": " + message)
    {
        Code = code;
    }

    /// <summary>Creates an EINVAL exception (the analyzers' standard constructor).</summary>
    public InputException() : this("EINVAL", "invalid input") { }

    /// <summary>Creates an EINVAL exception (the analyzers' standard constructor).</summary>
    /// <param name="message">What is wrong.</param>
    public InputException(string message) : this("EINVAL", message) { }

    /// <summary>Creates an EINVAL exception (the analyzers' standard constructor).</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public InputException(string message, Exception innerException) : base("EINVAL: " + message, innerException)
    {
        Code = "EINVAL";
    }

    /// <summary>The errno name.</summary>
    public string Code { get; } = "EINVAL";
}
