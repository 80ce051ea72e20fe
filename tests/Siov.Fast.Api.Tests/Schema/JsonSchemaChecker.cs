using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Siov.Fast.Api.Tests.Schema;

/// <summary>
/// Validates a JSON value against a schema of the OpenAPI 3.1 document, for the subset of JSON Schema the document
/// uses: <c>$ref</c> to <c>#/components/schemas/...</c>, <c>type</c> (a name or a list), <c>properties</c>,
/// <c>required</c>, <c>items</c>, <c>enum</c>, <c>pattern</c>, <c>oneOf</c>, <c>anyOf</c>, <c>allOf</c>. Other keywords
/// (<c>format</c>, <c>description</c>, ...) are annotations here. Returns one line per violation, with its JSON path.
/// </summary>
internal sealed class JsonSchemaChecker(JsonElement document)
{
    public List<string> Check(JsonElement value, JsonElement schema, string path = "$")
    {
        var errors = new List<string>();
        Check(value, schema, path, errors, depth: 0);
        return errors;
    }

    /// <summary>The schema a <c>$ref</c> names.</summary>
    public JsonElement Resolve(JsonElement schema)
    {
        while (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$ref", out JsonElement reference))
        {
            string target = reference.GetString()!;
            Assert.StartsWith("#/components/schemas/", target, StringComparison.Ordinal);
            schema = document.GetProperty("components").GetProperty("schemas").GetProperty(target["#/components/schemas/".Length..]);
        }
        return schema;
    }

    private void Check(JsonElement value, JsonElement schema, string path, List<string> errors, int depth)
    {
        Assert.True(depth < 32, "schema recursion at " + path);
        schema = Resolve(schema);
        if (schema.ValueKind != JsonValueKind.Object)
            return;
        if (schema.TryGetProperty("type", out JsonElement type) && !TypeMatches(value, type))
        {
            errors.Add($"{path}: {value.ValueKind} '{Clip(value)}' is not of type {type.GetRawText()}");
            return;
        }
        if (schema.TryGetProperty("enum", out JsonElement choices) && !choices.EnumerateArray().Any(c => SameValue(c, value)))
            errors.Add($"{path}: '{Clip(value)}' is not one of {choices.GetRawText()}");
        if (schema.TryGetProperty("pattern", out JsonElement pattern) && value.ValueKind == JsonValueKind.String
            && !Regex.IsMatch(value.GetString()!, pattern.GetString()!, RegexOptions.None, TimeSpan.FromSeconds(1)))
            errors.Add($"{path}: '{value.GetString()}' does not match {pattern.GetString()}");
        if (value.ValueKind == JsonValueKind.Object)
        {
            if (schema.TryGetProperty("required", out JsonElement required))
            {
                foreach (JsonElement name in required.EnumerateArray())
                {
                    if (!value.TryGetProperty(name.GetString()!, out _))
                        errors.Add($"{path}: required property '{name.GetString()}' is missing");
                }
            }
            if (schema.TryGetProperty("properties", out JsonElement properties))
            {
                foreach (JsonProperty p in value.EnumerateObject())
                {
                    if (properties.TryGetProperty(p.Name, out JsonElement propertySchema))
                        Check(p.Value, propertySchema, path + "." + p.Name, errors, depth + 1);
                }
            }
        }
        if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out JsonElement items))
        {
            int i = 0;
            foreach (JsonElement item in value.EnumerateArray())
                Check(item, items, $"{path}[{i++}]", errors, depth + 1);
        }
        if (schema.TryGetProperty("allOf", out JsonElement allOf))
        {
            foreach (JsonElement part in allOf.EnumerateArray())
                Check(value, part, path, errors, depth + 1);
        }
        foreach (string keyword in new[] { "oneOf", "anyOf" })
        {
            if (!schema.TryGetProperty(keyword, out JsonElement alternatives))
                continue;
            int matching = alternatives.EnumerateArray().Count(a => Check(value, a, path).Count == 0);
            if (keyword == "oneOf" ? matching != 1 : matching == 0)
                errors.Add($"{path}: '{Clip(value)}' matches {matching} of the {keyword} alternatives");
        }
    }

    private static bool TypeMatches(JsonElement value, JsonElement type) => type.ValueKind == JsonValueKind.Array
        ? type.EnumerateArray().Any(t => TypeMatches(value, t.GetString()!))
        : TypeMatches(value, type.GetString()!);

    private static bool TypeMatches(JsonElement value, string type) => type switch
    {
        "null" => value.ValueKind == JsonValueKind.Null,
        "string" => value.ValueKind == JsonValueKind.String,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out decimal d) && d == decimal.Truncate(d),
        _ => throw new InvalidOperationException("unknown JSON Schema type " + type),
    };

    private static bool SameValue(JsonElement a, JsonElement b) => a.ValueKind == b.ValueKind && a.ValueKind switch
    {
        JsonValueKind.String => a.GetString() == b.GetString(),
        JsonValueKind.Number => a.GetDecimal() == b.GetDecimal(),
        _ => a.GetRawText() == b.GetRawText(),
    };

    private static string Clip(JsonElement value)
    {
        string text = value.GetRawText();
        return text.Length <= 80 ? text : text[..80].ToString(CultureInfo.InvariantCulture) + "...";
    }
}
