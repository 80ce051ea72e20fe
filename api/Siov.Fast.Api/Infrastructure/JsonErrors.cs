using System.Text.Json;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>Describes a <see cref="JsonException"/> without the .NET type names System.Text.Json puts in its messages.</summary>
internal static class JsonErrors
{
    /// <param name="e">The exception.</param>
    /// <param name="pathPrefix">Where the value that was parsed sits in the whole body (e.g. <c>$.requests[3]</c>), when it was parsed alone.</param>
    public static string Describe(JsonException e, string? pathPrefix = null)
    {
        string? path = e.Path;
        if (pathPrefix != null && path != null && path.StartsWith('$'))
            path = pathPrefix + path[1..];
        string where = path is { Length: > 0 } && path != "$" ? $"at {path}" : "";
        string position = e.LineNumber is long line && e.BytePositionInLine is long column ? $"line {line + 1}, byte {column + 1}" : "";
        string place = string.Join(", ", new[] { where, position }.Where(p => p.Length > 0));
        // Messages about conversions name CLR types ("could not be converted to System.Nullable`1[...]"): say it plainly.
        string what = e.Message.Contains("could not be converted", StringComparison.Ordinal)
            ? "a value has the wrong JSON type (strings for addresses and names, numbers for ids and PASIDs, true/false for flags)"
            : e.Message.Split(" Path:", 2)[0].Split(" LineNumber:", 2)[0].TrimEnd();
        return place.Length > 0 ? $"{what} ({place})" : what;
    }
}
