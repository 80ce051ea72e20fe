using System.Globalization;
using System.Text;

namespace Siov.Fast.Cli;

/// <summary>
/// Text from an input file made safe for a terminal: what <c>siov</c> prints about a file never carries
/// the file's control characters, escape sequences or stray bytes, only their escaped form.
/// </summary>
internal static class TerminalText
{
    /// <summary>How many bytes of an offending line a message quotes.</summary>
    public const int QuoteBytes = 40;

    /// <summary>Escapes control and format characters (C0, DEL, C1, bidirectional overrides) as <c>\xNN</c>
    /// or <c>\uNNNN</c>; everything else is kept (so an escape made by <see cref="QuoteBytesOf"/> reads the same).</summary>
    /// <param name="text">Any text, e.g. an error message quoting a line of a file.</param>
    /// <returns>One line of printable text.</returns>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c <= 0xFF && char.IsControl(c))
                result.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            else if (char.GetUnicodeCategory(c) == UnicodeCategory.Format)
                result.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            else
                result.Append(c);
        }
        return result.ToString();
    }

    /// <summary>Quotes raw bytes of a line: printable ASCII as is, every other byte as <c>\xNN</c>, cut after
    /// <see cref="QuoteBytes"/> bytes with "..." after it.</summary>
    /// <param name="line">The line's bytes, without its newline.</param>
    /// <returns>The quoted line between single quotes.</returns>
    public static string QuoteBytesOf(ReadOnlySpan<byte> line)
    {
        var result = new StringBuilder("'");
        foreach (byte b in line.Length <= QuoteBytes ? line : line[..QuoteBytes])
        {
            if (b == (byte)'\\')
                result.Append(@"\\");
            else if (b is >= 0x20 and < 0x7F)
                result.Append((char)b);
            else
                result.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
        }
        return result.Append(line.Length > QuoteBytes ? "'..." : "'").ToString();
    }
}
