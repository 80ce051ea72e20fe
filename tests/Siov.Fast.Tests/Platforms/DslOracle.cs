using System.Globalization;
using System.Text.RegularExpressions;

namespace Siov.Fast.Tests.Platforms;

/// <summary>
/// A small, independent reader of ACPICA iasl's disassembly ("[OFFh DDDD LLL]  Field : Value" lines),
/// used as the oracle for the binary parsers. It knows nothing of the binary layout: offsets and
/// values come from iasl's text.
/// </summary>
internal static partial class DslOracle
{
    public sealed record Field(int Offset, string Name, string Value)
    {
        /// <summary>The value's leading hex number ("0000 [Hardware Unit Definition]" gives 0).</summary>
        public ulong Hex => ulong.Parse(Value.Split(' ')[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

        /// <summary>The quoted text of a string value.</summary>
        public string Text => Value.StartsWith('"') ? Value[1..Value.IndexOf('"', 1)] : Value;
    }

    public sealed class Structure
    {
        public required int Offset { get; init; }
        public required int Type { get; init; }
        public string Label { get; init; } = "";
        public List<Field> Fields { get; } = [];
        public List<Scope> Scopes { get; } = [];
        public List<Structure> Entries { get; } = [];

        public Field Get(string name) => Fields.First(f => f.Name == name);
        public Field? Find(string name) => Fields.FirstOrDefault(f => f.Name == name);
    }

    public sealed class Scope
    {
        public required int Type { get; init; }
        public int EnumerationId { get; set; }
        public int Bus { get; set; }
        public List<(int Device, int Function)> Path { get; } = [];
    }

    public sealed record Table(List<Field> Header, List<Structure> Structures, List<int> UnknownTypesWithoutOffset);

    /// <summary>All field lines up to the raw dump; iasl sometimes prints a line twice, kept once.</summary>
    public static List<Field> Fields(string dsl)
    {
        var fields = new List<Field>();
        foreach (string raw in dsl.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.StartsWith("Raw Table Data", StringComparison.Ordinal))
                break;
            Match m = FieldLine().Match(line);
            if (!m.Success)
                continue;
            var field = new Field(int.Parse(m.Groups[1].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
                m.Groups[2].Value.Trim(), m.Groups[3].Value.Trim());
            if (fields.Count > 0 && fields[^1] == field)
                continue;
            fields.Add(field);
        }
        return fields;
    }

    public static Table ReadDmar(string dsl) => Read(dsl, ivrs: false);

    public static Table ReadIvrs(string dsl) => Read(dsl, ivrs: true);

    private static Table Read(string dsl, bool ivrs)
    {
        var header = new List<Field>();
        var structures = new List<Structure>();
        Structure? current = null;
        Structure? entry = null;
        Scope? scope = null;
        foreach (Field f in Fields(dsl))
        {
            string name = f.Name.Replace(" (decoded below)", "", StringComparison.Ordinal);
            bool isEntry = ivrs && (name == "Entry Type" || (name == "Subtable Type" && f.Value.Contains("[Device Entry", StringComparison.Ordinal)
                || (name == "Subtable Type" && f.Value.Contains("Unknown/Reserved Device Entry", StringComparison.Ordinal))));
            if (isEntry)
            {
                entry = new Structure { Offset = f.Offset, Type = (int)f.Hex };
                current!.Entries.Add(entry);
                continue;
            }
            if (name == "Subtable Type")
            {
                current = new Structure { Offset = f.Offset, Type = (int)f.Hex, Label = f.Value };
                structures.Add(current);
                entry = null;
                scope = null;
                continue;
            }
            if (current is null)
            {
                header.Add(f with { Name = name });
                continue;
            }
            if (name == "Device Scope Type")
            {
                scope = new Scope { Type = (int)f.Hex };
                current.Scopes.Add(scope);
                continue;
            }
            if (scope is not null)
            {
                switch (name)
                {
                    case "Enumeration ID": scope.EnumerationId = (int)f.Hex; continue;
                    case "PCI Bus Number": scope.Bus = (int)f.Hex; continue;
                    case "PCI Path":
                        string[] pair = f.Value.Split(',');
                        scope.Path.Add((int.Parse(pair[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
                            int.Parse(pair[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)));
                        continue;
                    case "Entry Length" or "Reserved": continue;
                }
            }
            (entry ?? current).Fields.Add(f with { Name = name });
        }
        var unknown = UnknownLine().Matches(dsl).Select(m => int.Parse(m.Groups[1].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)).ToList();
        return new Table(header, structures, unknown);
    }

    [GeneratedRegex(@"^\[([0-9A-F]+)h [0-9]+ +[0-9A-Fh]+\] +(.+?) : (.*)$")]
    private static partial Regex FieldLine();

    [GeneratedRegex(@"\*\*\*\* Unknown IVRS subtable type 0x([0-9A-Fa-f]+)")]
    private static partial Regex UnknownLine();
}
