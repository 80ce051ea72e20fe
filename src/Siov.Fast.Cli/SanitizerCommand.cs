using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Siov.Fast.Cli;

/// <summary><c>siov sanitizer</c>: shows what the invalidation sanitizer of a running admin server found
/// (<c>GET /sanitizer</c>).</summary>
public static class SanitizerCommand
{
    /// <summary>Fetches <c>/sanitizer</c> from the server at <paramref name="url"/> and prints it.</summary>
    /// <param name="url">The admin server's base address, e.g. http://127.0.0.1:5080.</param>
    /// <param name="output">Where the report goes.</param>
    /// <param name="error">Where a one-line error goes.</param>
    /// <returns>0, or <see cref="SiovCommand.BadInput"/> when the server cannot be reached or answers otherwise.</returns>
    public static int Run(Uri url, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            using var client = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
            using HttpResponseMessage response = client.GetAsync(new Uri("/sanitizer", UriKind.Relative)).GetAwaiter().GetResult();
            string body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            if (!response.IsSuccessStatusCode)
            {
                error.WriteLine($"siov: {url}: the server answered {(int)response.StatusCode} to GET /sanitizer: EIO");
                return SiovCommand.BadInput;
            }
            output.Write(Format(body));
            return 0;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            error.WriteLine($"siov: {url}: {e.Message}: EIO");
            return SiovCommand.BadInput;
        }
    }

    /// <summary>The text form of a <c>GET /sanitizer</c> answer: a line per unit, then each report as one line.</summary>
    /// <param name="json">The answer's JSON array.</param>
    /// <returns>The lines.</returns>
    /// <exception cref="JsonException">When the text is not such an answer.</exception>
    public static string Format(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        var text = new StringBuilder();
        foreach (JsonElement unit in doc.RootElement.EnumerateArray())
        {
            bool on = unit.GetProperty("enabled").GetBoolean();
            text.Append(CultureInfo.InvariantCulture, $"{unit.GetProperty("unit").GetString()}: sanitizer {(on ? "on" : "off")}");
            if (on)
            {
                text.Append(CultureInfo.InvariantCulture,
                    $", {unit.GetProperty("comparisons").GetInt64()} comparisons, {unit.GetProperty("stale_translations").GetInt64()} stale translations");
            }
            text.AppendLine();
            foreach (JsonElement report in unit.GetProperty("reports").EnumerateArray())
                text.Append("  ").AppendLine(report.GetProperty("text").GetString());
        }
        return text.ToString();
    }
}
