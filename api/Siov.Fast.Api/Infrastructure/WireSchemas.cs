using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Siov.Fast.Api.Infrastructure.Wire;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>
/// Rewrites the document's component schemas of the wire records (<see cref="Wire"/>) from their C# types, so that
/// a client can trust what the document says is required, nullable, hex or one of a few values.
/// </summary>
/// <remarks>
/// The rules, written once here and in docs/admin-api.md ("OpenAPI document"):
/// <list type="bullet">
/// <item>A response record (any wire record not named <c>*Request</c>): a property that is not nullable in C# is
/// always written, so it is required and never null; a nullable one is left out when null (the server serializes with
/// <c>WhenWritingNull</c>), so it is optional and, when present, never null.</item>
/// <item>A request record (<c>*Request</c>): every property is nullable in C# because the handler validates the body
/// itself. A property is required exactly when it carries <see cref="RequiredAttribute"/>, which marks the properties
/// whose absence the handler rejects with 400 EINVAL; a required property is not nullable. An optional one may be
/// sent as null, which means the same as leaving it out.</item>
/// <item>Addresses and sizes are hex strings: requests accept what <see cref="Hex.TryParse"/> reads
/// (<see cref="HexRequestPattern"/>), responses carry what <see cref="Hex.Format"/> writes (<see cref="HexResponsePattern"/>).</item>
/// <item>Fields that take a few words (<c>prot</c>, <c>access</c>, a domain's <c>type</c>, ...) list them as an enum.</item>
/// <item>Request records carry a valid example (<see cref="WireExamples"/>), which Swagger UI's "Try it out" starts from.</item>
/// </list>
/// </remarks>
internal static class WireSchemas
{
    /// <summary>What <see cref="Hex.TryParse"/> accepts: "0x" hex (either case, at most 64 bits) or plain decimal.</summary>
    public const string HexRequestPattern = "^(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})$";

    /// <summary>What <see cref="Hex.Format"/> writes.</summary>
    public const string HexResponsePattern = "^0x[0-9a-f]{1,16}$";

    // NullabilityInfoContext is not thread-safe, and test hosts (and a server's first requests) may build the document
    // on several threads at once: one context per thread.
    [ThreadStatic]
    private static NullabilityInfoContext? t_nullability;

    private static NullabilityInfoContext Nullability => t_nullability ??= new NullabilityInfoContext();

    /// <summary>Hex string properties, by record and JSON name ("[]": the array's items are hex strings).</summary>
    private static readonly Dictionary<string, string[]> HexProperties = new(StringComparer.Ordinal)
    {
        [nameof(MapRequest)] = ["iova", "hpa", "size"],
        [nameof(TranslateRequest)] = ["iova"],
        [nameof(DirtyBitmapRequest)] = ["iova", "length", "page_size"],
        [nameof(HwptInvalidateRequest)] = ["addr", "npages"],
        [nameof(IoasCopyRequest)] = ["src_iova", "length", "iova"],
        [nameof(IoasMapRequest)] = ["iova", "hpa", "length"],
        [nameof(IoasUnmapRequest)] = ["iova", "length"],
        [nameof(PageRequestRequest)] = ["address"],
        [nameof(VtdS1Dto)] = ["pgtbl_addr"],
        [nameof(IovaRangeDto)] = ["start", "last"],
        [nameof(MappingDto)] = ["iova", "hpa", "size"],
        [nameof(UnmapDto)] = ["iova", "size", "unmapped"],
        [nameof(TranslateResultDto)] = ["hpa", "page_size"],
        [nameof(FaultInfoDto)] = ["code"],
        [nameof(FaultDto)] = ["address", "reason_code"],
        [nameof(DomainDto)] = ["mapped_bytes"],
        [nameof(ContainerSummaryDto)] = ["mapped_bytes"],
        [nameof(UnitDto)] = ["register_base", "cap", "ecap", "idr[]"],
        [nameof(DeviceDto)] = ["requester_id"],
        [nameof(IoasMapResult)] = ["iova"],
        [nameof(IoasUnmapResult)] = ["unmapped"],
        [nameof(ChangedEntryDto)] = ["hpa", "old", "new"],
        [nameof(StaleReportDto)] = ["iova"],
        [nameof(HwInfoDto)] = ["cap_reg", "ecap_reg", "idr[]", "iidr", "aidr"],
        [nameof(DirtyBitmapDto)] = ["bitmap[]"],
    };

    /// <summary>Records used both ways (a request body and a response): their hex fields accept the request pattern.</summary>
    private static readonly HashSet<string> SharedRecords = [nameof(VtdS1Dto), nameof(IovaRangeDto)];

    private static readonly string[] Protections = ["r", "w", "rw"];

    /// <summary>Properties that take one of a few words, by record and JSON name.</summary>
    private static readonly Dictionary<(string Record, string Property), string[]> EnumProperties = new()
    {
        [(nameof(MapRequest), "prot")] = Protections,
        [(nameof(IoasMapRequest), "prot")] = Protections,
        [(nameof(IoasCopyRequest), "prot")] = Protections,
        [(nameof(MappingDto), "prot")] = Protections,
        [(nameof(TranslateResultDto), "permissions")] = Protections,
        [(nameof(TranslateRequest), "access")] = ["read", "write", "rw"],
        [(nameof(PageRequestRequest), "access")] = Protections,
        [(nameof(CreateDomainRequest), "type")] = ["BLOCKED", "IDENTITY", "UNMANAGED", "DMA"],
        [(nameof(DomainDto), "type")] = [.. Enum.GetNames<Siov.Fast.Iommu.IommuDomainType>().Select(n => n.ToUpperInvariant())],
        [(nameof(DefineMdevRequest), "start")] = ["auto", "manual"],
        [(nameof(ModifyMdevRequest), "start")] = ["auto", "manual"],
        [(nameof(MdevDefinitionDto), "start")] = ["auto", "manual"],
        [(nameof(PageResponseRequest), "code")] = ["success", "invalid"],
        [(nameof(PageResponseDto), "code")] = ["success", "invalid", "failure"],
        [(nameof(AttachmentDto), "kind")] = ["group", "aux", "aux-group", "pasid"],
        [(nameof(StaleReportDto), "cache")] = ["iotlb", "pasid-cache", "device-tlb", "context-cache", "ste-cache", "cd-cache"],
    };

    /// <summary>The wire records by their schema name (the CLR type name, as the document names them).</summary>
    private static readonly Dictionary<string, Type> Records = typeof(Dto).Assembly.GetTypes()
        .Where(t => t.Namespace == typeof(Dto).Namespace && t.IsClass && !t.IsAbstract)
        .ToDictionary(t => t.Name, StringComparer.Ordinal);

    /// <summary>Whether a record is read from a request body (by name: every such record ends in "Request").</summary>
    public static bool IsRequest(string record) => record.EndsWith("Request", StringComparison.Ordinal);

    /// <summary>Applies the rules to every wire record's component schema.</summary>
    public static void Apply(OpenApiDocument document)
    {
        if (document.Components?.Schemas is not { } schemas)
            return;
        foreach ((string name, IOpenApiSchema component) in schemas)
        {
            if (component is OpenApiSchema schema && Records.TryGetValue(name, out Type? record))
                Apply(name, record, schema);
        }
    }

    private static void Apply(string name, Type record, OpenApiSchema schema)
    {
        if (schema.Properties is not { } properties)
            return;
        bool request = IsRequest(name);
        var required = new HashSet<string>(StringComparer.Ordinal);
        foreach (PropertyInfo property in record.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            string json = JsonNamingPolicy.SnakeCaseLower.ConvertName(property.Name);
            if (!properties.TryGetValue(json, out IOpenApiSchema? value))
                continue;
            bool nullable = Nullability.Create(property).ReadState == NullabilityState.Nullable;
            bool isRequired = request ? IsMarkedRequired(record, property) : !nullable;
            if (isRequired)
                required.Add(json);
            // Responses never write null; a required request property must not be null either.
            if (!request || isRequired)
                properties[json] = value = WithoutNull(value);
            NumbersAsNumbers(value);
            if (value is OpenApiSchema inline)
                Describe(name, json, inline, request || SharedRecords.Contains(name));
        }
        schema.Required = required;
        if (request && WireExamples.For(name) is { } example)
            schema.Examples = [example];
    }

    /// <summary>[Required] on the record's property or on its primary constructor's parameter.</summary>
    private static bool IsMarkedRequired(Type record, PropertyInfo property) =>
        property.IsDefined(typeof(RequiredAttribute), inherit: true)
        || record.GetConstructors().SelectMany(c => c.GetParameters())
            .Any(p => p.Name == JsonNamingPolicy.CamelCase.ConvertName(property.Name) && p.IsDefined(typeof(RequiredAttribute), inherit: true));

    private static void Describe(string record, string json, OpenApiSchema property, bool accepting)
    {
        string pattern = accepting ? HexRequestPattern : HexResponsePattern;
        if (HexProperties.TryGetValue(record, out string[]? hex))
        {
            if (hex.Contains(json))
                property.Pattern = pattern;
            else if (hex.Contains(json + "[]") && property.Items is OpenApiSchema items)
                items.Pattern = pattern;
        }
        if (EnumProperties.TryGetValue((record, json), out string[]? words))
        {
            property.Enum = [.. words.Select(w => (JsonNode)JsonValue.Create(w))];
            if (property.Type is { } type && (type & JsonSchemaType.Null) != 0)
                property.Enum.Add(null!);
        }
    }

    /// <summary>
    /// A number as the server writes it: the serializer also reads numbers written as strings (the web defaults'
    /// AllowReadingFromString), which the generator documents as "integer or string" with a pattern; the document
    /// says "integer" (or "number"), what every client should send.
    /// </summary>
    private static void NumbersAsNumbers(IOpenApiSchema schema)
    {
        if (schema is not OpenApiSchema s)
            return;
        if (s.Type is { } type && (type & JsonSchemaType.String) != 0 && (type & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0)
        {
            s.Type = type & ~JsonSchemaType.String;
            s.Pattern = null;
        }
        if (s.Items != null)
            NumbersAsNumbers(s.Items);
    }

    /// <summary>The schema without its null alternative: "type": ["null", T] becomes T, "oneOf": [null, $ref] the $ref.</summary>
    public static IOpenApiSchema WithoutNull(IOpenApiSchema schema)
    {
        if (schema is not OpenApiSchema s)
            return schema;
        if (s.Type is { } type && (type & JsonSchemaType.Null) != 0 && type != JsonSchemaType.Null)
            s.Type = type & ~JsonSchemaType.Null;
        if (s.OneOf is { Count: 2 } oneOf && oneOf.Count(IsNullSchema) == 1 && s.Properties is not { Count: > 0 })
            return oneOf.First(o => !IsNullSchema(o));
        return s;
    }

    private static bool IsNullSchema(IOpenApiSchema schema) => schema is OpenApiSchema { Type: JsonSchemaType.Null };
}
