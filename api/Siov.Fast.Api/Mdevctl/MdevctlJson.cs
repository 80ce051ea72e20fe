using System.Text.Json;
using System.Text.Json.Nodes;
using Siov.Fast.Api.Infrastructure;

namespace Siov.Fast.Api.Mdevctl;

/// <summary>
/// mdevctl's JSON, both ways. A device's config is <c>{"mdev_type": T, "start": "auto"|"manual", "attrs": [{NAME:
/// VALUE}, ...]}</c> (the file mdevctl writes, and <c>mdevctl list -d -u UUID --dumpjson</c>); a list is
/// <c>[{PARENT: [{UUID: CONFIG}, ...]}, ...]</c> (<c>mdevctl list -d --dumpjson</c>). Parsing checks every field and
/// bounds every count before anything is defined.
/// </summary>
internal static class MdevctlJson
{
    /// <summary>Most attributes one definition may carry.</summary>
    public const int MaxAttrs = 64;

    /// <summary>Longest attribute name or parent name, in characters.</summary>
    public const int MaxNameLength = 64;

    /// <summary>Longest attribute value or type name, in characters.</summary>
    public const int MaxValueLength = 256;

    /// <summary>One device's config object.</summary>
    public static JsonObject Config(MdevDefinition d) => new()
    {
        ["mdev_type"] = d.MdevType,
        ["start"] = d.Start,
        ["attrs"] = new JsonArray([.. d.Attrs.Select(a => (JsonNode)new JsonObject { [a.Key] = a.Value })]),
    };

    /// <summary>The <c>--dumpjson</c> list: definitions grouped by parent, in parent then UUID order.</summary>
    public static JsonArray List(IEnumerable<MdevDefinition> definitions) =>
        new([.. definitions.GroupBy(d => d.Parent, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
            (JsonNode)new JsonObject
            {
                [g.Key] = new JsonArray([.. g.OrderBy(d => d.Uuid).Select(d => (JsonNode)new JsonObject { [d.Uuid.ToString()] = Config(d) })]),
            })]);

    /// <summary>Reads a <c>--dumpjson</c> list, or a single config object when <paramref name="parent"/> and
    /// <paramref name="uuid"/> are given (as <c>mdevctl define -p PARENT -u UUID --jsonfile FILE</c> reads it).</summary>
    /// <exception cref="ProblemException">400 EINVAL naming the field that is wrong; 413 E2BIG past <paramref name="maxDefinitions"/>.</exception>
    public static List<MdevDefinition> Parse(JsonElement json, string? parent, Guid? uuid, int maxDefinitions)
    {
        var definitions = new List<MdevDefinition>();
        if (json.ValueKind == JsonValueKind.Object)
        {
            if (parent == null || uuid == null)
                throw Invalid("a single mdevctl config needs 'parent' and 'uuid' (as mdevctl define -p PARENT -u UUID --jsonfile)");
            definitions.Add(ParseConfig(json, CheckParent(parent, "parent"), uuid.Value, "config"));
            return definitions;
        }
        if (json.ValueKind != JsonValueKind.Array)
            throw Invalid("the body must be mdevctl's JSON: a list [{PARENT: [{UUID: CONFIG}]}] or one config {mdev_type, start, attrs}");
        int p = 0;
        foreach (JsonElement byParent in json.EnumerateArray())
        {
            if (byParent.ValueKind != JsonValueKind.Object)
                throw Invalid($"[{p}] must be an object {{PARENT: [...]}}");
            foreach (JsonProperty parentEntry in byParent.EnumerateObject())
            {
                string parentName = CheckParent(parentEntry.Name, $"[{p}] parent");
                if (parentEntry.Value.ValueKind != JsonValueKind.Array)
                    throw Invalid($"[{p}].{parentName} must be a list of {{UUID: CONFIG}}");
                int d = 0;
                foreach (JsonElement byUuid in parentEntry.Value.EnumerateArray())
                {
                    string where = $"[{p}].{parentName}[{d}]";
                    if (byUuid.ValueKind != JsonValueKind.Object)
                        throw Invalid($"{where} must be an object {{UUID: CONFIG}}");
                    foreach (JsonProperty device in byUuid.EnumerateObject())
                    {
                        if (!Guid.TryParse(device.Name, out Guid id))
                            throw Invalid($"{where}: '{Clip(device.Name)}' is not a UUID");
                        if (definitions.Count == maxDefinitions)
                            throw ProblemException.TooLarge($"more than {maxDefinitions} mdev definitions (Siov:Limits:MaxMdevDefinitions)");
                        definitions.Add(ParseConfig(device.Value, parentName, id, $"{where}.{id}"));
                    }
                    d++;
                }
            }
            p++;
        }
        Guid? repeated = definitions.GroupBy(x => x.Uuid).FirstOrDefault(g => g.Count() > 1)?.Key;
        if (repeated != null)
            throw Invalid($"UUID {repeated} is defined twice in the list");
        return definitions;
    }

    /// <summary>Reads one config object: <c>mdev_type</c> (required), <c>start</c> (auto or manual; manual when
    /// absent), <c>attrs</c> (optional). Unknown fields are refused, as a typo would otherwise be lost silently.</summary>
    public static MdevDefinition ParseConfig(JsonElement config, string parent, Guid uuid, string where)
    {
        if (config.ValueKind != JsonValueKind.Object)
            throw Invalid($"{where} must be an object {{mdev_type, start, attrs}}");
        string? type = null, start = null;
        IReadOnlyList<KeyValuePair<string, string>> attrs = [];
        foreach (JsonProperty field in config.EnumerateObject())
        {
            switch (field.Name)
            {
                case "mdev_type": type = String(field.Value, $"{where}.mdev_type", MaxValueLength); break;
                case "start": start = Start(field.Value, $"{where}.start"); break;
                case "attrs": attrs = Attrs(field.Value, $"{where}.attrs"); break;
                default: throw Invalid($"{where}: unknown field '{Clip(field.Name)}' (mdevctl's config has mdev_type, start, attrs)");
            }
        }
        if (type == null)
            throw Invalid($"{where}.mdev_type is missing");
        return new MdevDefinition(uuid, parent, type, start ?? MdevDefinition.Manual, attrs);
    }

    /// <summary>auto or manual.</summary>
    public static string Start(JsonElement value, string where)
    {
        string text = String(value, where, 16);
        return text is MdevDefinition.Auto or MdevDefinition.Manual ? text : throw Invalid($"{where} is '{Clip(text)}', expected auto or manual");
    }

    /// <summary>A list of single-entry objects of strings, at most <see cref="MaxAttrs"/>.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Attrs(JsonElement value, string where)
    {
        if (value.ValueKind != JsonValueKind.Array)
            throw Invalid($"{where} must be a list of {{NAME: VALUE}}");
        if (value.GetArrayLength() > MaxAttrs)
            throw Invalid($"{where} has {value.GetArrayLength()} entries; at most {MaxAttrs}");
        var attrs = new List<KeyValuePair<string, string>>();
        int i = 0;
        foreach (JsonElement entry in value.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object || entry.EnumerateObject().Count() != 1)
                throw Invalid($"{where}[{i}] must be one {{NAME: VALUE}}");
            JsonProperty attr = entry.EnumerateObject().First();
            if (attr.Name.Length is 0 or > MaxNameLength || attr.Name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')))
                throw Invalid($"{where}[{i}]: '{Clip(attr.Name)}' is not an attribute name (1-{MaxNameLength} of A-Z a-z 0-9 _ - .)");
            attrs.Add(new(attr.Name, String(attr.Value, $"{where}[{i}].{attr.Name}", MaxValueLength)));
            i++;
        }
        return attrs;
    }

    /// <summary>A parent name: a PCI address, or another name mdevctl accepts (such as <c>matrix</c>).</summary>
    public static string CheckParent(string parent, string where)
    {
        if (PciAddress.TryParse(parent, out PciAddress address))
            return address.ToString();
        return parent.Length is > 0 and <= MaxNameLength && parent.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ':')
            ? parent : throw Invalid($"{where} '{Clip(parent)}' is not a parent device name");
    }

    private static string String(JsonElement value, string where, int maxLength)
    {
        if (value.ValueKind != JsonValueKind.String)
            throw Invalid($"{where} must be a string");
        string text = value.GetString()!;
        return text.Length is > 0 && text.Length <= maxLength && !text.Any(char.IsControl)
            ? text : throw Invalid($"{where} must be 1-{maxLength} printable characters");
    }

    private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "...";

    private static ProblemException Invalid(string detail) => new("EINVAL", StatusCodes.Status400BadRequest, "EINVAL: " + detail);
}
