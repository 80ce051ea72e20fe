using System.Globalization;

namespace Siov.Fast;

/// <summary>
/// The one exception type that Siov.Fast operations raise for bad input or a refused
/// operation. <see cref="Code"/> carries the kernel's errno name as a stable code; the
/// message names the argument that was wrong and, for addresses, prints it in hex.
/// </summary>
/// <remarks>
/// An operation that throws <see cref="IommuException"/> has changed nothing: every check
/// runs before the first write. Hot-path methods (walks, translations) never throw; they
/// return a status instead.
/// </remarks>
public sealed class IommuException : Exception
{
    /// <summary>Creates an exception with an errno code and a message that names what was wrong.</summary>
    /// <param name="code">The errno name, e.g. <see cref="Errno.EINVAL"/>.</param>
    /// <param name="message">What was wrong, without the errno prefix (it is added).</param>
    public IommuException(Errno code, string message)
        : base(code.ToString() + ": " + message)
    {
        Code = code;
    }

    /// <summary>
    /// Creates an exception for one item of a batch call (for example
    /// <see cref="PageTables.SecondLevelPageTable.MapBatch"/>): the message becomes
    /// <c>CODE: mappings[index]: message</c> and <see cref="Index"/> holds <paramref name="index"/>.
    /// </summary>
    /// <param name="code">The errno name, e.g. <see cref="Errno.EEXIST"/>.</param>
    /// <param name="message">What was wrong with the item, without the errno and index prefixes (both are added).</param>
    /// <param name="index">Zero-based position of the failing item in the batch.</param>
    public IommuException(Errno code, string message, int index)
        : base(code.ToString() + ": mappings[" + index.ToString(CultureInfo.InvariantCulture) + "]: " + message)
    {
        Code = code;
        Index = index;
    }

    /// <summary>The kernel errno name of the failure; stable across versions, safe to match on.</summary>
    public Errno Code { get; }

    /// <summary>
    /// For a failure of a batch call that one item caused (a bad item, an overlap), the item's
    /// zero-based position in the batch; the message then starts with <c>CODE: mappings[index]: </c>.
    /// Null for a failure of a single-item call or of the batch as a whole (ENOMEM, ENOSPC).
    /// </summary>
    public int? Index { get; }

    /// <summary>Creates an exception with an errno code and a message (kept for the standard exception shape).</summary>
    public IommuException() : this(Errno.EINVAL, "invalid argument") { }

    /// <summary>Creates an EINVAL exception with the given message (kept for the standard exception shape).</summary>
    /// <param name="message">What was wrong.</param>
    public IommuException(string message) : this(Errno.EINVAL, message) { }

    /// <summary>Creates an EINVAL exception wrapping another (kept for the standard exception shape).</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="innerException">The underlying failure.</param>
    public IommuException(string message, Exception innerException)
        : base("EINVAL: " + message, innerException)
    {
        Code = Errno.EINVAL;
    }
}
