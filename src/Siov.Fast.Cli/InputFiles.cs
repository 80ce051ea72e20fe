using System.Text;
using System.Text.Unicode;

namespace Siov.Fast.Cli;

/// <summary>
/// Reads the files given to <c>siov platform show</c> and refuses the wrong kind of file before a parser
/// sees it: a directory (EISDIR), text where a binary ACPI table is expected, binary bytes where text is
/// expected (EINVAL). Every message quotes the file's bytes escaped (<see cref="TerminalText"/>).
/// </summary>
internal static class InputFiles
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads a binary ACPI table (DMAR, IVRS, IORT), refusing a text file such as iasl's .dsl disassembly.</summary>
    /// <param name="file">The file.</param>
    /// <param name="signature">The table expected, for the message.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="InputException">ENOENT, EISDIR, EACCES, EIO; EINVAL for a text file.</exception>
    public static byte[] ReadTable(FileInfo file, string signature)
    {
        byte[] bytes = Read(file);
        if (LooksLikeText(bytes))
            throw new InputException("EINVAL",
                $"looks like text (an iasl .dsl disassembly?), expected a binary {signature} table (as /sys/firmware/acpi/tables/{signature}); it starts {TerminalText.QuoteBytesOf(FirstLine(bytes))}");
        return bytes;
    }

    /// <summary>Reads a text input (lspci output, a boot log), refusing one with binary bytes: NUL, bytes that
    /// are not UTF-8, or control characters other than tab, carriage return, form feed and ESC.</summary>
    /// <param name="file">The file.</param>
    /// <param name="expected">What the file should hold, for the message (e.g. "lspci -vvnn output").</param>
    /// <returns>The text.</returns>
    /// <exception cref="InputException">ENOENT, EISDIR, EACCES, EIO; EINVAL naming the first binary line, quoted escaped.</exception>
    public static string ReadText(FileInfo file, string expected)
    {
        ReadOnlySpan<byte> bytes = Read(file);
        if (bytes.StartsWith(ByteOrderMark))
            bytes = bytes[ByteOrderMark.Length..];
        ReadOnlySpan<byte> rest = bytes;
        for (int line = 1; !rest.IsEmpty; line++)
        {
            int end = rest.IndexOf((byte)'\n');
            ReadOnlySpan<byte> text = end < 0 ? rest : rest[..end];
            if (IsBinary(text))
                throw new InputException("EINVAL",
                    $"line {line} is binary data, expected {expected}: {TerminalText.QuoteBytesOf(text)}");
            rest = end < 0 ? [] : rest[(end + 1)..];
        }
        return StrictUtf8.GetString(bytes);
    }

    private static ReadOnlySpan<byte> ByteOrderMark => [0xEF, 0xBB, 0xBF];

    private static byte[] Read(FileInfo file)
    {
        if (Directory.Exists(file.FullName))
            throw new InputException("EISDIR", "is a directory, expected a file");
        try
        {
            return File.ReadAllBytes(file.FullName);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InputException("ENOENT", "no such file or directory");
        }
        catch (UnauthorizedAccessException)
        {
            throw new InputException("EACCES", "permission denied");
        }
        catch (IOException e)
        {
            throw new InputException("EIO", e.Message);
        }
    }

    /// <summary>A real table's 36-byte header always holds bytes outside printable ASCII (the length's high
    /// bytes are 0); a header of printable ASCII and whitespace only is text.</summary>
    private static bool LooksLikeText(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith(ByteOrderMark))
            bytes = bytes[ByteOrderMark.Length..];
        if (bytes.IsEmpty)
            return false;
        foreach (byte b in bytes.Length <= 36 ? bytes : bytes[..36])
            if (b is not ((>= 0x20 and < 0x7F) or (byte)'\t' or (byte)'\n' or (byte)'\r'))
                return false;
        return true;
    }

    private static bool IsBinary(ReadOnlySpan<byte> line)
    {
        foreach (byte b in line)
            if (b is < 0x20 and not ((byte)'\t' or (byte)'\r' or (byte)'\f' or 0x1B) or 0x7F)
                return true;
        return !Utf8.IsValid(line);
    }

    private static ReadOnlySpan<byte> FirstLine(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.IndexOf((byte)'\n');
        return end < 0 ? bytes : bytes[..end];
    }
}
