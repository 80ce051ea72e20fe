using System.Text.Json;

namespace Siov.Fast.Api.Tests.Fuzz;

/// <summary>One parameter of an operation: <c>in</c> is "path", "query" or "header".</summary>
internal sealed record FuzzParameter(string Name, string In, JsonElement Schema, bool Required);

/// <summary>One request body media type of an operation and its schema (may be empty).</summary>
internal sealed record FuzzBody(string MediaType, JsonElement Schema);

/// <summary>One operation (path template and method) of the OpenAPI document.</summary>
internal sealed record FuzzOperation(string Method, string Path, string? OperationId, IReadOnlyList<FuzzParameter> Parameters,
    IReadOnlyList<FuzzBody> Bodies, bool BodyRequired)
{
    public override string ToString() => $"{Method} {Path}";
}

/// <summary>
/// The parts of an OpenAPI 3.x document the fuzzer needs: every operation with its parameters and
/// request bodies, and <c>$ref</c> resolution into <c>components</c>.
/// </summary>
internal sealed class OpenApiModel
{
    private static readonly string[] HttpMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    private readonly JsonElement root;

    public OpenApiModel(JsonElement root)
    {
        this.root = root;
        Operations = ReadOperations();
    }

    public IReadOnlyList<FuzzOperation> Operations { get; }

    /// <summary>Follows <c>$ref</c>s (at most 16 hops) to the schema they name.</summary>
    public JsonElement Resolve(JsonElement schema)
    {
        for (int hop = 0; hop < 16 && schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$ref", out JsonElement reference); hop++)
            schema = Lookup(reference.GetString() ?? "");
        return schema;
    }

    /// <summary>The schema's types ("type": "x" or ["x", "null"]); empty when it names none.</summary>
    public IReadOnlyList<string> TypesOf(JsonElement schema)
    {
        schema = Resolve(schema);
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("type", out JsonElement type))
            return [];
        return type.ValueKind switch
        {
            JsonValueKind.String => [type.GetString()!],
            JsonValueKind.Array => [.. type.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()!)],
            _ => [],
        };
    }

    public bool IsInteger(JsonElement schema) => TypesOf(schema).Contains("integer");

    public bool IsBoolean(JsonElement schema) => TypesOf(schema).Contains("boolean");

    private JsonElement Lookup(string reference)
    {
        if (!reference.StartsWith("#/", StringComparison.Ordinal))
            return default;
        JsonElement element = root;
        foreach (string part in reference[2..].Split('/'))
        {
            string name = part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element))
                return default;
        }
        return element;
    }

    private List<FuzzOperation> ReadOperations()
    {
        var operations = new List<FuzzOperation>();
        if (!root.TryGetProperty("paths", out JsonElement paths))
            return operations;
        foreach (JsonProperty path in paths.EnumerateObject())
        {
            JsonElement item = Resolve(path.Value);
            List<FuzzParameter> shared = item.TryGetProperty("parameters", out JsonElement p) ? ReadParameters(p) : [];
            foreach (JsonProperty member in item.EnumerateObject())
            {
                if (!HttpMethods.Contains(member.Name))
                    continue;
                JsonElement op = member.Value;
                List<FuzzParameter> own = op.TryGetProperty("parameters", out JsonElement q) ? ReadParameters(q) : [];
                // Operation-level parameters override path-level ones of the same name and location.
                var parameters = shared.Where(s => !own.Any(o => o.Name == s.Name && o.In == s.In)).Concat(own).ToList();
                var bodies = new List<FuzzBody>();
                bool bodyRequired = false;
                if (op.TryGetProperty("requestBody", out JsonElement body))
                {
                    body = Resolve(body);
                    bodyRequired = body.TryGetProperty("required", out JsonElement r) && r.ValueKind == JsonValueKind.True;
                    if (body.TryGetProperty("content", out JsonElement content))
                    {
                        foreach (JsonProperty media in content.EnumerateObject())
                            bodies.Add(new FuzzBody(media.Name, media.Value.TryGetProperty("schema", out JsonElement s) ? s : default));
                    }
                }
                string? id = op.TryGetProperty("operationId", out JsonElement oid) ? oid.GetString() : null;
                operations.Add(new FuzzOperation(member.Name.ToUpperInvariant(), path.Name, id, parameters, bodies, bodyRequired));
            }
        }
        return operations;
    }

    private List<FuzzParameter> ReadParameters(JsonElement list)
    {
        var parameters = new List<FuzzParameter>();
        foreach (JsonElement raw in list.EnumerateArray())
        {
            JsonElement p = Resolve(raw);
            string name = p.GetProperty("name").GetString()!;
            string where = p.GetProperty("in").GetString()!;
            bool required = where == "path" || (p.TryGetProperty("required", out JsonElement r) && r.ValueKind == JsonValueKind.True);
            parameters.Add(new FuzzParameter(name, where, p.TryGetProperty("schema", out JsonElement s) ? s : default, required));
        }
        return parameters;
    }
}
