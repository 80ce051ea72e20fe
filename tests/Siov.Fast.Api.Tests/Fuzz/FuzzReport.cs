using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Siov.Fast.Api.Tests.Fuzz;

/// <summary>One broken response: what was sent, what came back, and which rules it broke.</summary>
internal sealed record FuzzFinding(FuzzRequest Request, int Status, string? ResponseType, string ResponseStart, IReadOnlyList<string> Violations, string? ServerLog);

/// <summary>
/// The rules every answer must keep, and the findings of a run, grouped so that one cause is listed once
/// (with how often it was seen and its first example). Thread-safe.
/// </summary>
internal sealed partial class FuzzReport
{
    /// <summary>Text that must never reach a client: a .NET stack frame or a .NET type name.</summary>
    private static readonly string[] LeakMarkers = ["   at ", "System.", "Siov.Fast.", "Microsoft.", "Nullable`", "Nullable<"];

    private readonly object gate = new();
    private readonly Dictionary<string, (FuzzFinding First, int Count)> groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<string>> contentTypes = new(StringComparer.Ordinal);
    private readonly List<string> order = [];
    private readonly SortedDictionary<string, int> statuses = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, int> operations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> successes = new(StringComparer.Ordinal);

    public int Sent { get; private set; }

    public int Findings { get; private set; }

    public int Groups
    {
        get
        {
            lock (gate)
                return groups.Count;
        }
    }

    /// <summary>The rules broken by one answer (empty when it keeps them all).</summary>
    public static List<string> Check(FuzzRequest request, int status, string? mediaType, byte[] body, out string? detail, out string? code, out string? traceId)
    {
        var violations = new List<string>();
        detail = code = traceId = null;
        bool binary = mediaType?.Equals("application/octet-stream", StringComparison.OrdinalIgnoreCase) == true;
        string text = binary ? "" : Encoding.UTF8.GetString(body);
        if (status >= 500)
            violations.Add($"status {status} (a server error)");
        if (status >= 400)
        {
            if (!"application/problem+json".Equals(mediaType, StringComparison.OrdinalIgnoreCase))
                violations.Add($"Content-Type is {(mediaType == null ? "absent" : $"'{mediaType}'")}, not application/problem+json");
            if (request.Method != "HEAD")
            {
                try
                {
                    using var doc = JsonDocument.Parse(text);
                    JsonElement problem = doc.RootElement;
                    if (problem.ValueKind != JsonValueKind.Object)
                    {
                        violations.Add($"the body is a JSON {problem.ValueKind}, not a problem object");
                    }
                    else
                    {
                        if (problem.TryGetProperty("detail", out JsonElement d) && d.ValueKind == JsonValueKind.String)
                            detail = d.GetString();
                        if (problem.TryGetProperty("trace_id", out JsonElement t) && t.ValueKind == JsonValueKind.String)
                            traceId = t.GetString();
                        if (!problem.TryGetProperty("code", out JsonElement c) || c.ValueKind != JsonValueKind.String)
                            violations.Add("no string 'code' in the problem body");
                        else if (!ErrnoName().IsMatch(code = c.GetString()!))
                            violations.Add($"'code' is '{code}', not an errno name");
                        if (!problem.TryGetProperty("status", out JsonElement s) || s.ValueKind != JsonValueKind.Number)
                            violations.Add("no numeric 'status' in the problem body");
                        else if (!s.TryGetInt32(out int st) || st != status)
                            violations.Add($"'status' is {s.GetRawText()}, HTTP status is {status}");
                    }
                }
                catch (JsonException)
                {
                    violations.Add(body.Length == 0 ? "the body is empty, not a problem object" : "the body is not JSON");
                }
            }
        }
        else if (status is >= 200 and < 300 && body.Length > 0 && mediaType?.Equals("application/json", StringComparison.OrdinalIgnoreCase) == true)
        {
            try
            {
                using var doc = JsonDocument.Parse(text);
            }
            catch (JsonException)
            {
                violations.Add("a 2xx application/json body that is not JSON");
            }
        }
        foreach (string marker in LeakMarkers)
        {
            int at = text.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                string around = text.Substring(Math.Max(0, at - 10), Math.Min(text.Length - Math.Max(0, at - 10), marker.Length + 50));
                string name = marker == "   at " ? "a stack trace" : $"the .NET name {NameAt(text, at, marker.Length)}";
                violations.Add($"the body leaks {name} (…{around}…)");
            }
        }
        return violations;
    }

    public void Count(FuzzRequest request, int status)
    {
        lock (gate)
        {
            Sent++;
            string s = status.ToString(CultureInfo.InvariantCulture);
            statuses[s] = statuses.GetValueOrDefault(s) + 1;
            string op = $"{request.Method} {request.Route}";
            operations[op] = operations.GetValueOrDefault(op) + 1;
            if (status is >= 200 and < 300)
                successes[op] = successes.GetValueOrDefault(op) + 1;
        }
    }

    public void Add(FuzzFinding finding, string? detail, string? code)
    {
        // One group per cause: route, method, status, errno, the rules broken (values masked), the detail's shape
        // (quoted values and numbers masked) and, for a 500, the server-side exception and frame.
        string shape = Mask(detail ?? "");
        string rules = string.Join(" | ", finding.Violations.Select(v => Mask(v.Split(" (…", 2)[0])));
        bool leak = finding.Violations.Any(v => v.StartsWith("the body leaks", StringComparison.Ordinal));
        string key = string.Join("\u0001", finding.Request.Method, finding.Request.Route, finding.Status.ToString(CultureInfo.InvariantCulture), code,
            rules, finding.Status >= 500 ? Mask(finding.ServerLog ?? "") : leak ? "" : shape);
        lock (gate)
        {
            Findings++;
            if (!contentTypes.TryGetValue(key, out SortedSet<string>? seen))
                contentTypes[key] = seen = new SortedSet<string>(StringComparer.Ordinal);
            if (seen.Count < 12)
                seen.Add(finding.Request.ContentType == null ? "(none)" : $"'{finding.Request.ContentType}'");
            if (groups.TryGetValue(key, out (FuzzFinding First, int Count) g))
            {
                groups[key] = (g.First, g.Count + 1);
            }
            else
            {
                groups[key] = (finding, 1);
                order.Add(key);
            }
        }
    }

    public string StatusSummary()
    {
        lock (gate)
            return "statuses: " + string.Join(", ", statuses.Select(s => $"{s.Key}×{s.Value}"));
    }

    public string OperationSummary()
    {
        lock (gate)
            return "requests per method and route (of them 2xx): " + string.Join(", ", operations.Select(o => $"{o.Key}×{o.Value} ({successes.GetValueOrDefault(o.Key)})"));
    }

    public bool WasSent(string method, string route)
    {
        lock (gate)
            return operations.ContainsKey($"{method} {route}");
    }

    /// <summary>Every distinct finding, grouped by route, most frequent first within a route.</summary>
    public string Format(int maxGroups = 200)
    {
        lock (gate)
        {
            var sb = new StringBuilder();
            int shown = 0;
            foreach (IGrouping<string, string> route in order.GroupBy(k => $"{groups[k].First.Request.Route}").OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                sb.AppendLine().Append("== ").Append(route.Key).AppendLine(" ==");
                foreach (string key in route.OrderByDescending(k => groups[k].Count))
                {
                    if (++shown > maxGroups)
                        break;
                    (FuzzFinding f, int count) = groups[key];
                    sb.Append(CultureInfo.InvariantCulture, $"[{count}×] {f.Request.Method} {FuzzRequest.Clip(f.Request.Url, 160)} ({f.Request.Kind})").AppendLine();
                    sb.Append("    sent: ").AppendLine(f.Request.BodySummary);
                    if (contentTypes[key].Count > 1)
                        sb.Append("    content-types seen in this group: ").AppendLine(string.Join(", ", contentTypes[key]));
                    sb.Append(CultureInfo.InvariantCulture, $"    got:  {f.Status} {f.ResponseType ?? "(no content-type)"} {f.ResponseStart}").AppendLine();
                    foreach (string v in f.Violations)
                        sb.Append("    broke: ").AppendLine(v);
                    if (f.ServerLog != null)
                        sb.Append("    server log: ").AppendLine(FuzzRequest.Clip(f.ServerLog, 400));
                }
            }
            if (shown > maxGroups)
                sb.AppendLine(CultureInfo.InvariantCulture, $"... and {groups.Count - maxGroups} more groups");
            return sb.ToString();
        }
    }

    /// <summary>The whole dotted/generic type name around a leak marker, e.g. <c>Nullable&lt;uint&gt;</c> or <c>Siov.Fast.Api.Infrastructure.MapRequest[]</c>.</summary>
    private static string NameAt(string text, int at, int length)
    {
        static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '`' or '<' or '>' or '[' or ']';
        int start = at, end = at + length;
        while (start > 0 && IsNameChar(text[start - 1]))
            start--;
        while (end < text.Length && IsNameChar(text[end]))
            end++;
        return text[start..end].TrimEnd('.');
    }

    private static string Mask(string text) => Digits().Replace(Quoted().Replace(text, "'…'"), "#");

    [GeneratedRegex("^E[A-Z0-9]+$")]
    private static partial Regex ErrnoName();

    [GeneratedRegex("'[^']*'")]
    private static partial Regex Quoted();

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Digits();
}
