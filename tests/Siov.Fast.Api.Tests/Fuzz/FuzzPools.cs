using System.Globalization;
using System.Text.Json;

namespace Siov.Fast.Api.Tests.Fuzz;

/// <summary>
/// Identifiers seen so far (device BDFs, group, domain and container ids, mdev UUIDs), keyed by the
/// collection they belong to ("devices", "groups", "domains", "containers", "mdevs"). The fuzzer draws
/// path parameters and body fields from them so that requests reach existing objects, and learns new
/// ones from every successful JSON answer. Thread-safe.
/// </summary>
internal sealed class FuzzPools
{
    private const int MaxPerPool = 48;

    private readonly object gate = new();
    private readonly Dictionary<string, List<string>> pools = new(StringComparer.Ordinal);

    public void Add(string pool, string value)
    {
        lock (gate)
        {
            if (!pools.TryGetValue(pool, out List<string>? list))
                pools[pool] = list = [];
            if (list.Contains(value))
                return;
            list.Add(value);
            if (list.Count > MaxPerPool)
                list.RemoveAt(0);
        }
    }

    public void Add(string pool, int value) => Add(pool, value.ToString(CultureInfo.InvariantCulture));

    public void Remove(string pool, string value)
    {
        lock (gate)
        {
            if (pools.TryGetValue(pool, out List<string>? list))
                list.Remove(value);
        }
    }

    /// <summary>Forgets the object a successful DELETE of <c>/collection/id</c> removed.</summary>
    public void Deleted(string path)
    {
        string[] parts = path.Split('?')[0].Trim('/').Split('/');
        if (parts.Length == 2)
            Remove(parts[0], Uri.UnescapeDataString(parts[1]));
    }

    public string? Pick(string pool, Random rng)
    {
        lock (gate)
            return pools.TryGetValue(pool, out List<string>? list) && list.Count > 0 ? list[rng.Next(list.Count)] : null;
    }

    public override string ToString()
    {
        lock (gate)
            return string.Join("; ", pools.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}: {string.Join(",", p.Value)}"));
    }

    /// <summary>Learns identifiers from a successful JSON answer of <paramref name="path"/> (a concrete path).</summary>
    public void Learn(string path, JsonElement json)
    {
        string collection = path.TrimStart('/').Split('/', '?')[0];
        if (json.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement item in json.EnumerateArray())
                LearnObject(collection, item, 0);
        }
        else
        {
            LearnObject(collection, json, 0);
        }
    }

    private void LearnObject(string collection, JsonElement o, int depth)
    {
        if (o.ValueKind != JsonValueKind.Object || depth > 2)
            return;
        foreach (JsonProperty p in o.EnumerateObject())
        {
            switch (p.Name)
            {
                case "id" when depth == 0 && p.Value.ValueKind == JsonValueKind.Number && collection is "groups" or "domains" or "containers":
                    Add(collection, p.Value.GetRawText());
                    break;
                case "bdf" or "parent" when p.Value.ValueKind == JsonValueKind.String:
                    Add("devices", p.Value.GetString()!);
                    break;
                case "uuid" when p.Value.ValueKind == JsonValueKind.String:
                    Add("mdevs", p.Value.GetString()!);
                    break;
                case "group" when p.Value.ValueKind == JsonValueKind.Number:
                    Add("groups", p.Value.GetRawText());
                    break;
                case "domain" or "default_domain" when p.Value.ValueKind == JsonValueKind.Number:
                    Add("domains", p.Value.GetRawText());
                    break;
                case "groups" or "domains" when p.Value.ValueKind == JsonValueKind.Array:
                    foreach (JsonElement e in p.Value.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Number))
                        Add(p.Name, e.GetRawText());
                    break;
                case "pasids" when p.Value.ValueKind == JsonValueKind.Array:
                    foreach (JsonElement e in p.Value.EnumerateArray())
                        LearnObject(collection, e, depth + 1);
                    break;
                case "pasid" when p.Value.ValueKind == JsonValueKind.Number:
                    Add("pasids", p.Value.GetRawText());
                    break;
                default:
                    break;
            }
        }
    }
}
