using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Siov.Fast.Api.Tests.Fuzz;

/// <summary>
/// One generated request. <paramref name="Route"/> is the OpenAPI path template it was made from (or a
/// label such as "(unknown path)"); <paramref name="ContentType"/> is sent verbatim, unvalidated; a null
/// <paramref name="Body"/> sends no content at all.
/// </summary>
internal sealed record FuzzRequest(string Method, string Url, string Route, string? ContentType, byte[]? Body, string Kind)
{
    public string BodySummary => Summarize(ContentType, Body);

    public static string Summarize(string? contentType, byte[]? body)
    {
        string ct = contentType == null ? "no content-type" : $"content-type '{contentType}'";
        if (body == null)
            return $"{ct}, no body";
        if (body.Length == 0)
            return $"{ct}, empty body";
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return $"{ct}, {body.Length} bytes binary: {Convert.ToHexString(body, 0, Math.Min(body.Length, 24))}{(body.Length > 24 ? "..." : "")}";
        }
        if (text.Any(c => char.IsControl(c) && c is not '\n' and not '\r' and not '\t'))
            return $"{ct}, {body.Length} bytes binary: {Convert.ToHexString(body, 0, Math.Min(body.Length, 24))}{(body.Length > 24 ? "..." : "")}";
        return $"{ct}, {body.Length} bytes: {Clip(text, 160)}";
    }

    public static string Clip(string text, int max)
    {
        text = text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
        return text.Length <= max ? text : string.Concat(text.AsSpan(0, max), $"...(+{text.Length - max} chars)");
    }
}

/// <summary>
/// Builds requests for the operations of an OpenAPI document from a seeded <see cref="Random"/>: path and
/// query parameters drawn from known identifiers, schema-valid values and hostile values; JSON bodies built
/// from the request schema with fields dropped, nulled or mistyped, malformed JSON, arrays, huge numbers
/// and deep nesting; random binary bodies; and random Content-Type headers (none, the declared one, or odd).
/// </summary>
internal sealed class RequestGenerator(OpenApiModel model, FuzzPools pools, Random rng)
{
    private const int MaxJsonDepth = 6;

    /// <summary>Most items a batch call may carry; one more should be E2BIG.</summary>
    private const int BatchLimit = 65536;

    private static readonly HashSet<string> OptionalNames = new(["device", "group", "aux", "pasid", "uuid", "prot", "access"], StringComparer.Ordinal);

    private static readonly string[] AllMethods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

    private static readonly string[] HostileHex =
    [
        "0x0", "0xfffffffffffff000", "0x1000", "-1", "", "0x", "12345678901234567890", "99999999999999999999",
        "0xffffffffffffffff", "0x10000000000000000", "0X1000", " 0x1000", "0x1000 ", "1e3", "0x-1", "+4096", "0xg",
        "0x0000000000000000000001000", "0x7ffffffff000", "0xfff", "0x1", "4096.0", "０x１０００", "0x1000\0",
    ];

    private static readonly string[] HostileInts =
    [
        "-1", "0", "2147483647", "2147483648", "-2147483649", "4294967295", "4294967296", "99999999999999999999",
        "abc", "1.5", "0x10", "1e3", " 1", "+1", "-0", "", "null", "true", "1,2", "٣",
    ];

    private static readonly string[] HostileStrings =
    [
        "", " ", "abc", "%00", "\0", "-1", "0", "0x", "../", "..", "../../etc/passwd", "..%2F..%2F", "%2e%2e%2f", "%", "%zz",
        "null", "undefined", "true", "ünïcødé", "😀💥", "\u202eevil", "\ud800", "\uffff", "a b", "a/b", "a?b", "a#b", "a;b",
        "<script>alert(1)</script>", "' OR 1=1 --", "{}", "[]", "{{id}}", "$(id)", "\\\\server\\share", "\r\nX-Injected: 1",
        "00:00.0", "ff:ff.f", "0000:01:00.0:1", "01:00.0 ", "01:00", "1:0.0", "10000:01:00.0", "zz:zz.z", "01:1f.8",
        "11111111-0000-0000-0000-000000000002", "00000000-0000-0000-0000-000000000000", "{11111111-0000-0000-0000-000000000002}",
        "99999999999999999999", "-2147483649", "1e400", "NaN", "Infinity",
    ];

    private static readonly string[] OddContentTypes =
    [
        "text/plain", "application/octet-stream", "application/json, text/plain", "application/json; charset=utf-8",
        "application/json; charset=latin1", "application/json; charset=utf-16", "application/problem+json", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz", "APPLICATION/JSON", "*/*", "application/json;;", "", "text/json", "application/xml",
        "application/octet-stream; charset=utf-8", "application/vnd.api+json", "garbage", "application/json; q=0",
    ];

    private static readonly string[] MalformedJson =
    [
        "{", "}", "{\"requests\":", "{'a':1}", "{\"a\":1,}", "[1,2", "nul", "{\"a\" 1}", "\"unterminated", "{\"a\":01}", "{\"a\":NaN}",
        "{\"a\":Infinity}", "/* c */ {}", "{} {}", "\ufeff{}", "{\"a\":\"\\x41\"}", "{\"a\":\"\\ud800\"}", "[", "]", ",", ":", "\u0000",
        "{\"requests\":[{\"device\":\"01:00.0\",}]}", "{\"mappings\":[,]}", "{\"group\":4", "{\"type\":\"unmanaged\"", "tru", "-",
    ];

    private static readonly string[] Mistyped =
    [
        "\"abc\"", "123", "-1", "1.5", "true", "false", "[]", "{}", "[1,2,3]", "99999999999999999999", "1e400", "-1e400", "\"\"",
        "\"0x\"", "\"\\u0000\"", "0", "\"null\"", "{\"a\":null}", "\"4\"", "[\"01:00.0\"]", "-0", "1E+2", "4294967296", "2147483648",
        "[null]", "{\"$ref\":\"#\"}", "\"\\ud800\"",
    ];

    private static readonly string[] BdfExtras = ["0000:01:00.0", "01:00.0", "00:02.0", "02:00.0", "03:00.0", "03:00.1", "04:00.0", "ff:1f.7", "0001:01:00.0", "05:00.0"];

    private static readonly string[] DomainOrMdevTypes = ["unmanaged", "UNMANAGED", "DMA", "dma", "identity", "blocked", "idxd-wq", "nvidia-63", "Unmanaged", "dma_fq"];

    private static readonly string[] AlignedHex = ["0x0", "0x1000", "0x2000", "0x200000", "0x40000000", "0x4000000", "0x4000000000", "0x5000000000", "0x12345000", "4096", "0x12345", "0xf0000000"];

    private static readonly string[] Prots = ["r", "w", "rw", "read", "write", "readwrite", "read_write", "RW", "x"];

    private static readonly string[] Accesses = ["read", "write", "rw", "atomic", "r", "w", "", "READ"];

    private static readonly string[] Formats = ["linux", "json", "text", "", "LINUX"];

    private static readonly string[] UnknownPaths =
    [
        "/nope", "/domains/1/nope", "/translate/batch/x", "/devices/01:00.0/features/ats", "/openapi/v2.json", "//", "/%2e%2e/",
        "/containers/1/groups/4/extra", "/mdevs/types", "/swagger/nope.js", "/api/domains", "/domains/1/mappings/batch/2", "/faults/1",
        "/stats/" + new string('s', 3000), "/groups/1/", "/healthz/x", "/translate/", "/%00", "/devices/01:00.0/features", "/.env",
    ];

    /// <summary>
    /// A clean request (about a third of them): known ids, schema-valid values, optional fields sometimes left
    /// out, nothing mistyped, the declared Content-Type; these reach the handlers' deeper paths.
    /// </summary>
    private bool clean;

    /// <summary>A request for <paramref name="op"/>.</summary>
    public FuzzRequest For(FuzzOperation op) => Build(op, op.Method, "op");

    /// <summary>A request to the path of <paramref name="op"/> with a method the document does not list for it.</summary>
    public FuzzRequest WrongMethod(FuzzOperation op, IReadOnlyCollection<string> listed)
    {
        string[] others = [.. AllMethods.Where(m => !listed.Contains(m))];
        return Build(op, others[rng.Next(others.Length)], "wrong method");
    }

    /// <summary>A request to a path no operation has.</summary>
    public FuzzRequest UnknownPath() => UnknownPath(UnknownPaths[rng.Next(UnknownPaths.Length)]);

    /// <summary>Each path of the built-in list of paths no operation has, with GET and with another method.</summary>
    public IEnumerable<FuzzRequest> EveryUnknownPath() => UnknownPaths.SelectMany(p => new[] { UnknownPath(p, "GET"), UnknownPath(p) });

    private FuzzRequest UnknownPath(string path, string? method = null)
    {
        method ??= AllMethods[rng.Next(AllMethods.Length - 1)];
        (string? ct, byte[]? body) = method is "POST" or "PUT" or "PATCH" ? (ContentType("application/json", true), Encoding.UTF8.GetBytes("{}")) : (null, null);
        return new FuzzRequest(method, path, "(unknown path)", ct, body, "unknown path");
    }

    private FuzzRequest Build(FuzzOperation op, string method, string kind)
    {
        clean = kind == "op" && rng.NextDouble() < 0.33;
        var url = new StringBuilder();
        string previous = "";
        foreach (string segment in op.Path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            url.Append('/');
            if (segment.StartsWith('{') && segment.EndsWith('}'))
            {
                string name = segment[1..^1];
                FuzzParameter? p = op.Parameters.FirstOrDefault(x => x.In == "path" && x.Name == name);
                url.Append(PathValue(name, p != null && model.IsInteger(p.Schema), previous));
            }
            else
            {
                url.Append(segment);
                previous = segment;
            }
        }
        if (url.Length == 0)
            url.Append('/');

        var query = new List<string>();
        foreach (FuzzParameter p in op.Parameters.Where(p => p.In == "query"))
        {
            if (rng.NextDouble() < (p.Required ? (clean ? 0 : 0.05) : clean ? 0.5 : 0.2))
                continue;
            query.Add(p.Name + "=" + Escape(QueryValue(p)));
            if (rng.NextDouble() < 0.04)
                query.Add(p.Name + "=" + Escape(QueryValue(p)));
        }
        if (!clean && rng.NextDouble() < 0.04)
            query.Add(Pick(["zz=1", "pasid=1", "iova=0x1000", "format=linux", "=", "&&", "a", "device=01:00.0"]));
        if (query.Count > 0)
            url.Append('?').Append(string.Join('&', query));

        (string? contentType, byte[]? body) = BuildBody(op);
        return new FuzzRequest(method, url.ToString(), op.Path, contentType, body, clean ? "clean" : kind);
    }

    private string PathValue(string name, bool integer, string collection)
    {
        double r = clean ? rng.NextDouble() * 0.72 : rng.NextDouble();
        string value;
        if (r < (clean ? 0.65 : 0.6) && pools.Pick(collection, rng) is string known)
            value = known;
        else if (r < 0.72)
            value = integer ? rng.Next(0, 16).ToString(CultureInfo.InvariantCulture) : ValidString(name);
        else
            value = integer && rng.Next(2) == 0 ? Pick(HostileInts) : HostileSegment();
        return clean || rng.NextDouble() < 0.8 ? Escape(value) : value;
    }

    private string HostileSegment() => rng.Next(12) switch
    {
        0 => new string('a', rng.Next(256, 10_000)),
        1 => new string('9', rng.Next(20, 400)),
        2 => string.Concat(Enumerable.Repeat("../", rng.Next(1, 8))) + "domains",
        _ => Pick(HostileStrings),
    };

    private string QueryValue(FuzzParameter p)
    {
        string name = p.Name.ToLowerInvariant();
        bool hexish = name is "iova" or "size" or "hpa";
        if (clean || rng.NextDouble() < 0.6)
        {
            if (model.IsBoolean(p.Schema))
                return rng.Next(2) == 0 ? "true" : "false";
            if (model.IsInteger(p.Schema))
                return ValidInt(name);
            return ValidString(name);
        }
        if (hexish || rng.Next(4) == 0)
            return Pick(HostileHex);
        if (model.IsInteger(p.Schema))
            return Pick(HostileInts);
        if (model.IsBoolean(p.Schema))
            return Pick(["yes", "1", "0", "", "TRUE", "null", "on"]);
        return HostileSegment();
    }

    private static string Escape(string value)
    {
        try
        {
            return Uri.EscapeDataString(value);
        }
        catch (UriFormatException)
        {
            return "x";
        }
    }

    private string ValidString(string name) => name.ToLowerInvariant() switch
    {
        "device" or "parent" or "bdf" => rng.NextDouble() < 0.8 && pools.Pick("devices", rng) is string d ? d : Pick(BdfExtras),
        "uuid" => rng.Next(10) switch
        {
            < 5 when pools.Pick("mdevs", rng) is string u => u,
            < 8 => NewUuid(),
            _ => "11111111-0000-0000-0000-000000000002",
        },
        "type" => Pick(DomainOrMdevTypes),
        "size" when clean => Pick(["0x1000", "0x2000", "0x10000", "0x200000", "4096"]),
        "iova" or "hpa" when clean => "0x" + ((ulong)rng.Next(1, 1 << 20) << (rng.Next(4) == 0 ? 21 : 12)).ToString("x", CultureInfo.InvariantCulture),
        "iova" or "hpa" or "size" => rng.Next(3) == 0 ? "0x" + ((ulong)rng.Next(1, 1 << 20) << 12).ToString("x", CultureInfo.InvariantCulture) : Pick(AlignedHex),
        "prot" => Pick(Prots),
        "access" => Pick(Accesses),
        "format" => Pick(Formats),
        _ => Pick(["x", "test", "01:00.0", "1"]),
    };

    private string ValidInt(string name) => name.ToLowerInvariant() switch
    {
        "group" => rng.NextDouble() < 0.8 && pools.Pick("groups", rng) is string g ? g : rng.Next(0, 12).ToString(CultureInfo.InvariantCulture),
        "pasid" => rng.NextDouble() < 0.5 && pools.Pick("pasids", rng) is string p ? p : Pick(["0", "1", "2", "3", "4", "1048575", "1048576"]),
        "id" or "domain" => rng.NextDouble() < 0.7 && pools.Pick("domains", rng) is string d ? d : rng.Next(0, 16).ToString(CultureInfo.InvariantCulture),
        _ => rng.Next(0, 16).ToString(CultureInfo.InvariantCulture),
    };

    private string NewUuid()
    {
        byte[] bytes = new byte[16];
        rng.NextBytes(bytes);
        return new Guid(bytes).ToString();
    }

    private T Pick<T>(T[] items) => items[rng.Next(items.Length)];

    // ---- bodies ----

    private (string? ContentType, byte[]? Body) BuildBody(FuzzOperation op)
    {
        FuzzBody? json = op.Bodies.FirstOrDefault(b => b.MediaType.Contains("json", StringComparison.OrdinalIgnoreCase)) ?? (op.Bodies.Count > 0 ? op.Bodies[0] : null);
        bool binary = op.Bodies.Any(b => b.MediaType == "application/octet-stream");
        if (clean && json != null)
            return (rng.NextDouble() < 0.9 ? json.MediaType : null, Encoding.UTF8.GetBytes(SchemaJson(json.Schema)));
        if (clean)
            return (null, null);
        if (json == null)
        {
            // No body in the document: mostly none; sometimes a stray one.
            double s = rng.NextDouble();
            if (s < 0.88)
                return (null, null);
            if (s < 0.92)
                return ("application/json", []);
            return (ContentType("application/json", true), Encoding.UTF8.GetBytes(Pick(["{}", "{\"type\":\"unmanaged\"}", "[]", "x", "{"])));
        }

        double r = rng.NextDouble();
        string declared = json.MediaType;
        if (binary && r < 0.12)
            return (ContentType("application/octet-stream", false), BinaryRecords());
        if (r < 0.20)
            return (ContentType(declared, false), RandomBytes());
        if (r < 0.24)
            return (ContentType(declared, true), []);
        string text = rng.NextDouble() switch
        {
            < 0.70 => SchemaJson(json.Schema),
            < 0.80 => Malformed(json.Schema),
            < 0.85 => "[" + SchemaJson(json.Schema) + (rng.Next(2) == 0 ? "," + SchemaJson(json.Schema) : "") + "]",
            < 0.90 => Pick(["1e400", "99999999999999999999", "-1", "\"str\"", "true", "null", "0", "\"\"", "  ", "-1e400"]),
            _ => DeepNesting(),
        };
        byte[] bytes = rng.Next(40) == 0 ? Encoding.Unicode.GetBytes(text) : Encoding.UTF8.GetBytes(text);
        return (ContentType(declared, true), bytes);
    }

    /// <summary>The declared type most of the time, else none or an odd one.</summary>
    private string? ContentType(string declared, bool mostlyDeclared)
    {
        double r = rng.NextDouble();
        if (r < (mostlyDeclared ? 0.6 : 0.45))
            return declared;
        if (r < (mostlyDeclared ? 0.72 : 0.6))
            return null;
        return Pick(OddContentTypes);
    }

    private byte[] RandomBytes()
    {
        int length = rng.Next(4) switch
        {
            0 => rng.Next(1, 16),
            1 => 16 * rng.Next(1, 8),
            2 => rng.Next(17, 200),
            _ => rng.Next(0, 40),
        };
        byte[] bytes = new byte[length];
        rng.NextBytes(bytes);
        return bytes;
    }

    /// <summary>16-byte translation records (iova u64, pasid u32, rid u16, access u8, flags u8), mostly plausible; rarely one too many.</summary>
    private byte[] BinaryRecords()
    {
        int count = rng.Next(50) == 0 ? BatchLimit + 1 : rng.Next(0, 40);
        byte[] bytes = new byte[count * 16];
        for (int i = 0; i < count; i++)
        {
            Span<byte> r = bytes.AsSpan(i * 16, 16);
            ulong iova = rng.Next(3) == 0 ? (ulong)rng.NextInt64() : (ulong)rng.Next(0, 1 << 26);
            BitConverter.TryWriteBytes(r, iova);
            bool pasidPresent = rng.Next(2) == 0;
            uint pasid = pasidPresent ? (rng.Next(8) == 0 ? (uint)rng.Next() : (uint)rng.Next(0, 4)) : 0;
            BitConverter.TryWriteBytes(r[8..], pasid);
            ushort[] rids = [0x0100, 0x0200, 0x0300, 0x0301, 0x0400, 0x0010, 0xffff];
            BitConverter.TryWriteBytes(r[12..], rids[rng.Next(rids.Length)]);
            r[14] = (byte)(rng.Next(10) == 0 ? rng.Next(256) : rng.Next(1, 4));
            r[15] = (byte)(rng.Next(10) == 0 ? rng.Next(256) : pasidPresent ? 1 : 0);
        }
        return bytes;
    }

    private string Malformed(JsonElement schema)
    {
        if (rng.Next(2) == 0)
        {
            string valid = SchemaJson(schema);
            return valid.Length > 1 ? valid[..rng.Next(1, valid.Length)] : "{";
        }
        return Pick(MalformedJson);
    }

    private string DeepNesting()
    {
        int depth = rng.Next(8, 100);
        string inner = rng.Next(2) == 0
            ? string.Concat(Enumerable.Repeat("[", depth)) + "1" + string.Concat(Enumerable.Repeat("]", depth))
            : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + string.Concat(Enumerable.Repeat("}", depth));
        return Pick([inner, "{\"requests\":" + inner + "}", "{\"mappings\":[" + inner + "]}", "{\"group\":" + inner + "}", "{\"type\":" + inner + "}"]);
    }

    /// <summary>A JSON value for <paramref name="schema"/>: mostly plausible, with fields dropped, nulled or mistyped.</summary>
    public string SchemaJson(JsonElement schema)
    {
        var sb = new StringBuilder();
        WriteValue(sb, schema, "", 0);
        return sb.ToString();
    }

    private void WriteValue(StringBuilder sb, JsonElement schema, string name, int depth)
    {
        schema = model.Resolve(schema);
        if (depth > MaxJsonDepth)
        {
            sb.Append("null");
            return;
        }
        if (schema.ValueKind == JsonValueKind.Object && (schema.TryGetProperty("oneOf", out JsonElement alternatives) || schema.TryGetProperty("anyOf", out alternatives)))
        {
            JsonElement[] all = [.. alternatives.EnumerateArray()];
            JsonElement[] nonNull = [.. all.Where(a => !model.TypesOf(a).SequenceEqual(["null"]))];
            WriteValue(sb, rng.NextDouble() < 0.92 && nonNull.Length > 0 ? nonNull[rng.Next(nonNull.Length)] : all[rng.Next(all.Length)], name, depth);
            return;
        }
        double r = clean ? 1 : rng.NextDouble();
        if (depth > 0 && r < 0.04)
        {
            sb.Append("null");
            return;
        }
        if (depth > 0 && r < 0.10)
        {
            sb.Append(rng.Next(8) == 0 ? DeepNesting() : Pick(Mistyped));
            return;
        }
        IReadOnlyList<string> types = model.TypesOf(schema);
        string[] concrete = [.. types.Where(t => t != "null")];
        string type = concrete.Length == 0 ? (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out _) ? "object" : "any")
            : concrete.Contains("integer") ? "integer" : concrete[rng.Next(concrete.Length)];
        switch (type)
        {
            case "object":
                WriteObject(sb, schema, depth);
                break;
            case "array":
                WriteArray(sb, schema, name, depth);
                break;
            case "integer":
                string number = !clean && rng.Next(12) == 0 ? Pick(["2147483648", "-1", "4294967296", "1.5", "1e3", "-2147483649", "99999999999999999999", "1048576"]) : ValidInt(name);
                if (!clean && rng.Next(8) == 0)
                    WriteString(sb, number);
                else
                    sb.Append(number);
                break;
            case "number":
                sb.Append((rng.NextDouble() * 1e6).ToString("R", CultureInfo.InvariantCulture));
                break;
            case "boolean":
                sb.Append(rng.Next(2) == 0 ? "true" : "false");
                break;
            case "string":
                WriteString(sb, clean || rng.NextDouble() < 0.8 ? ValidString(name) : rng.Next(3) == 0 ? Pick(HostileHex) : HostileSegment());
                break;
            default:
                sb.Append(Pick(Mistyped));
                break;
        }
    }

    private void WriteObject(StringBuilder sb, JsonElement schema, int depth)
    {
        sb.Append('{');
        bool first = true;
        void Comma()
        {
            if (!first)
                sb.Append(',');
            first = false;
        }
        if (schema.TryGetProperty("properties", out JsonElement properties))
        {
            bool several = properties.EnumerateObject().Skip(1).Any();
            foreach (JsonProperty property in properties.EnumerateObject())
            {
                // A clean body leaves out only the fields that are alternatives or have defaults, and only when there are others.
                double drop = !clean ? 0.08 : several && OptionalNames.Contains(property.Name) ? 0.45 : 0;
                if (rng.NextDouble() < drop)
                    continue;
                Comma();
                string key = !clean && rng.Next(30) == 0 ? property.Name.ToUpperInvariant() : property.Name;
                WriteString(sb, key);
                sb.Append(':');
                WriteValue(sb, property.Value, property.Name, depth + 1);
            }
            if (!clean && rng.NextDouble() < 0.03 && properties.EnumerateObject().FirstOrDefault() is { Value.ValueKind: JsonValueKind.Object } dup)
            {
                Comma();
                WriteString(sb, dup.Name);
                sb.Append(':');
                WriteValue(sb, dup.Value, dup.Name, depth + 1);
            }
        }
        if (!clean && rng.NextDouble() < 0.05)
        {
            Comma();
            sb.Append(Pick(["\"extra\":1", "\"\":null", "\"$type\":\"System.Object\"", "\"id\":7"]));
        }
        sb.Append('}');
    }

    private void WriteArray(StringBuilder sb, JsonElement schema, string name, int depth)
    {
        JsonElement items = schema.TryGetProperty("items", out JsonElement i) ? i : default;
        int roll = clean ? 50 + rng.Next(20) : rng.Next(100);
        if (roll < 2)
        {
            // One past the batch limit, of cheap items.
            string item = Pick(["{}", "null", "1"]);
            sb.Append('[').Append(string.Join(',', Enumerable.Repeat(item, BatchLimit + 1))).Append(']');
            return;
        }
        int count = roll switch
        {
            < 70 => clean ? rng.Next(1, 5) : rng.Next(0, 4),
            < 92 => rng.Next(4, 20),
            _ => rng.Next(100, 600),
        };
        sb.Append('[');
        for (int k = 0; k < count; k++)
        {
            if (k > 0)
                sb.Append(',');
            if (items.ValueKind == JsonValueKind.Undefined)
                sb.Append(Pick(Mistyped));
            else
                WriteValue(sb, items, name, depth + 1);
        }
        sb.Append(']');
    }

    /// <summary>A JSON string; non-ASCII characters are sometimes \u-escaped (lone surrogates included), sometimes raw.</summary>
    private void WriteString(StringBuilder sb, string value)
    {
        bool escapeAll = rng.Next(2) == 0;
        sb.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                case < ' ':
                    sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    if (c > '~' && (escapeAll || char.IsSurrogate(c)))
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else
                        sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
