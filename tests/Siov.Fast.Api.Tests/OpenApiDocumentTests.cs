using System.Net;
using System.Text.Json;
using Siov.Fast.Api.Tests.Schema;

namespace Siov.Fast.Api.Tests;

/// <summary>
/// What a client may rely on in <c>GET /openapi/v1.json</c> (docs/admin-api.md, "OpenAPI document"): problem
/// responses on every operation, required-ness and nullability that match the wire, valid examples, hex patterns,
/// enums, the binary batch body, the text answer of <c>?format=linux</c>, the API key on mutating calls only, and real
/// answers of a short session that validate against the schemas the document gives for them.
/// </summary>
public sealed class OpenApiDocumentTests : ApiTestHost
{
    private const string ProblemJson = "application/problem+json";

    private async Task<JsonElement> DocumentAsync()
    {
        using HttpResponseMessage response = await GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.Clone();
    }

    private static IEnumerable<(string Path, string Method, JsonElement Operation)> Operations(JsonElement doc) =>
        doc.GetProperty("paths").EnumerateObject().SelectMany(p => p.Value.EnumerateObject().Select(m => (p.Name, m.Name, m.Value)));

    private static JsonElement Schema(JsonElement doc, string name) => doc.GetProperty("components").GetProperty("schemas").GetProperty(name);

    private static string[] Required(JsonElement schema) =>
        schema.TryGetProperty("required", out JsonElement r) ? [.. r.EnumerateArray().Select(e => e.GetString()!)] : [];

    private static bool IsNullable(JsonElement schema) =>
        (schema.TryGetProperty("type", out JsonElement t) && (t.ValueKind == JsonValueKind.Array ? t.EnumerateArray().Any(x => x.GetString() == "null") : t.GetString() == "null"))
        || (schema.TryGetProperty("oneOf", out JsonElement oneOf) && oneOf.EnumerateArray().Any(IsNullable));

    [Fact]
    public async Task EveryOperation_ListsProblemResponses()
    {
        JsonElement doc = await DocumentAsync();
        var missing = new List<string>();
        foreach ((string path, string method, JsonElement op) in Operations(doc))
        {
            JsonProperty[] problems = [.. op.GetProperty("responses").EnumerateObject()
                .Where(r => r.Name.StartsWith('4') && r.Value.TryGetProperty("content", out JsonElement c) && c.TryGetProperty(ProblemJson, out _))];
            if (problems.Length == 0)
                missing.Add($"{method.ToUpperInvariant()} {path}");
            foreach (JsonProperty problem in problems)
                Assert.Equal("#/components/schemas/Problem", problem.Value.GetProperty("content").GetProperty(ProblemJson).GetProperty("schema").GetProperty("$ref").GetString());
            bool hasPathParameter = path.Contains('{', StringComparison.Ordinal);
            Assert.Equal(hasPathParameter, problems.Any(p => p.Name == "404"));
        }
        Assert.True(missing.Count == 0, "operations without a 4xx problem+json response: " + string.Join(", ", missing));
        Assert.Equal(["code", "status", "title", "type"], Required(Schema(doc, "Problem")).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task NoProperty_IsBothNullableAndRequired_AndOptionalFieldsAreOptional()
    {
        JsonElement doc = await DocumentAsync();
        var both = new List<string>();
        foreach (JsonProperty schema in doc.GetProperty("components").GetProperty("schemas").EnumerateObject())
        {
            if (!schema.Value.TryGetProperty("properties", out JsonElement properties))
                continue;
            foreach (string name in Required(schema.Value))
            {
                Assert.True(properties.TryGetProperty(name, out JsonElement property), $"{schema.Name} requires '{name}', which it does not describe");
                if (IsNullable(property))
                    both.Add(schema.Name + "." + name);
            }
        }
        Assert.True(both.Count == 0, "nullable and required: " + string.Join(", ", both));

        // Optional request fields, absent response fields; the fields a handler cannot do without.
        Assert.DoesNotContain("uuid", Required(Schema(doc, "CreateMdevRequest")));
        Assert.Equal(["parent", "type"], Required(Schema(doc, "CreateMdevRequest")));
        Assert.Equal(["hpa", "iova", "size"], Required(Schema(doc, "MapRequest")).Order(StringComparer.Ordinal));
        Assert.Equal(["ok"], Required(Schema(doc, "TranslateResultDto")));
        Assert.Empty(Required(Schema(doc, "AttachRequest")));
        Assert.DoesNotContain("domain", Required(Schema(doc, "GroupDto")));
        Assert.Contains("id", Required(Schema(doc, "GroupDto")));
        // Numbers are numbers (the server's leniency for numeric strings is not advertised).
        Assert.Equal("integer", Schema(doc, "ContainerGroupRequest").GetProperty("properties").GetProperty("group").GetProperty("type").GetString());
    }

    [Fact]
    public async Task EveryExample_ValidatesAgainstItsSchema_AndEveryRequestBodyHasOne()
    {
        JsonElement doc = await DocumentAsync();
        var checker = new JsonSchemaChecker(doc);
        var errors = new List<string>();
        int examples = 0;
        foreach (JsonProperty schema in doc.GetProperty("components").GetProperty("schemas").EnumerateObject())
        {
            if (!schema.Value.TryGetProperty("examples", out JsonElement list))
                continue;
            foreach (JsonElement example in list.EnumerateArray())
            {
                examples++;
                errors.AddRange(checker.Check(example, schema.Value, schema.Name));
            }
        }
        foreach ((string path, string method, JsonElement op) in Operations(doc))
        {
            if (!op.TryGetProperty("requestBody", out JsonElement body) || !body.GetProperty("content").TryGetProperty("application/json", out JsonElement json))
                continue;
            JsonElement schema = checker.Resolve(json.GetProperty("schema"));
            if (!schema.TryGetProperty("type", out JsonElement type) || type.GetString() != "object")
                continue; // a bare list (allowed-iovas) or any JSON (mdevctl's import): no record, no example
            Assert.True(json.TryGetProperty("example", out JsonElement example), $"{method.ToUpperInvariant()} {path} has no request example");
            examples++;
            errors.AddRange(checker.Check(example, json.GetProperty("schema"), $"{method.ToUpperInvariant()} {path}"));
            Assert.False(IsNullable(json.GetProperty("schema")), $"{method.ToUpperInvariant()} {path} offers a null body");
        }
        Assert.True(examples >= 20, $"only {examples} examples");
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task HexEnumsBinaryAndText_AreDescribed()
    {
        JsonElement doc = await DocumentAsync();
        JsonElement map = Schema(doc, "MapRequest").GetProperty("properties");
        foreach (string field in new[] { "iova", "hpa", "size" })
            Assert.Equal("^(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})$", map.GetProperty(field).GetProperty("pattern").GetString());
        Assert.Equal("^0x[0-9a-f]{1,16}$", Schema(doc, "TranslateResultDto").GetProperty("properties").GetProperty("hpa").GetProperty("pattern").GetString());
        Assert.Equal(["r", "w", "rw", null], map.GetProperty("prot").GetProperty("enum").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? null : e.GetString()));
        Assert.Contains("UNMANAGED", Schema(doc, "CreateDomainRequest").GetProperty("properties").GetProperty("type").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        JsonElement unmap = doc.GetProperty("paths").GetProperty("/domains/{id}/mappings").GetProperty("delete");
        Assert.All(unmap.GetProperty("parameters").EnumerateArray().Where(p => p.GetProperty("in").GetString() == "query"),
            p => Assert.True(p.GetProperty("schema").TryGetProperty("pattern", out _), p.ToString()));
        Assert.Equal(["read", "write", "rw"], doc.GetProperty("paths").GetProperty("/translate").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .Single(p => p.GetProperty("name").GetString() == "access").GetProperty("schema").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));

        JsonElement batch = doc.GetProperty("paths").GetProperty("/translate/batch").GetProperty("post");
        foreach (JsonElement binary in new[] { batch.GetProperty("requestBody").GetProperty("content"), batch.GetProperty("responses").GetProperty("200").GetProperty("content") })
        {
            JsonElement schema = binary.GetProperty("application/octet-stream").GetProperty("schema");
            Assert.Equal("string", schema.GetProperty("type").GetString());
            Assert.Equal("binary", schema.GetProperty("format").GetString());
        }
        Assert.False(batch.TryGetProperty("security", out _), "a translation batch needs no API key");
        Assert.True(doc.GetProperty("paths").GetProperty("/domains").GetProperty("post").TryGetProperty("security", out _));
        Assert.False(doc.GetProperty("paths").GetProperty("/domains").GetProperty("get").TryGetProperty("security", out _));

        JsonElement faults = doc.GetProperty("paths").GetProperty("/faults").GetProperty("get").GetProperty("responses").GetProperty("200").GetProperty("content");
        Assert.Equal("string", faults.GetProperty("text/plain").GetProperty("schema").GetProperty("type").GetString());
        Assert.True(faults.TryGetProperty("application/json", out _));
    }

    [Fact]
    public async Task RealAnswers_ValidateAgainstTheirDocumentedSchemas()
    {
        JsonElement doc = await DocumentAsync();
        var checker = new JsonSchemaChecker(doc);
        var errors = new List<string>();

        async Task<JsonElement> Call(HttpMethod method, string template, string url, string? body = null)
        {
            using var request = new HttpRequestMessage(method, new Uri(url, UriKind.Relative)) { Content = body == null ? null : Json(body) };
            using HttpResponseMessage response = await Client.SendAsync(request);
            string text = await response.Content.ReadAsStringAsync();
            string status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            JsonElement responses = doc.GetProperty("paths").GetProperty(template).GetProperty(method.Method.ToLowerInvariant()).GetProperty("responses");
            Assert.True(responses.TryGetProperty(status, out JsonElement documented), $"{method} {url} answered {status}, which the document does not list: {text}");
            if (text.Length == 0)
                return default;
            string mediaType = response.Content.Headers.ContentType!.MediaType!;
            JsonElement schema = documented.GetProperty("content").GetProperty(mediaType).GetProperty("schema");
            using var answer = JsonDocument.Parse(text);
            errors.AddRange(checker.Check(answer.RootElement, schema, $"{method} {url} ({status})"));
            return answer.RootElement.Clone();
        }

        await Call(HttpMethod.Get, "/platform", "/platform");
        await Call(HttpMethod.Get, "/devices", "/devices");
        await Call(HttpMethod.Get, "/groups", "/groups");
        await Call(HttpMethod.Post, "/devices/{bdf}/features/aux", "/devices/01:00.0/features/aux");
        int id = (await Call(HttpMethod.Post, "/domains", "/domains", """{"type":"UNMANAGED"}""")).GetProperty("id").GetInt32();
        await Call(HttpMethod.Post, "/domains/{id}/mappings", $"/domains/{id}/mappings", """{"iova":"0x100000","hpa":"0x40000000","size":"0x1000","prot":"rw"}""");
        await Call(HttpMethod.Post, "/domains/{id}/attachments", $"/domains/{id}/attachments", """{"device":"02:00.0"}""");
        JsonElement ok = await Call(HttpMethod.Get, "/translate", "/translate?device=02:00.0&iova=0x100010&access=write");
        Assert.True(ok.GetProperty("ok").GetBoolean());
        JsonElement fault = await Call(HttpMethod.Get, "/translate", "/translate?device=02:00.0&iova=0x900000");
        Assert.False(fault.TryGetProperty("hpa", out _));
        await Call(HttpMethod.Post, "/translate/batch", "/translate/batch", """{"requests":[{"device":"02:00.0","iova":"0x100010"},{"device":"02:00.0","iova":"0x900000"}]}""");
        await Call(HttpMethod.Get, "/domains/{id}", $"/domains/{id}");
        await Call(HttpMethod.Get, "/domains", "/domains");
        await Call(HttpMethod.Get, "/domains/{id}/mappings", $"/domains/{id}/mappings");
        await Call(HttpMethod.Get, "/domains/{id}/attachments", $"/domains/{id}/attachments");
        await Call(HttpMethod.Get, "/devices/{bdf}", "/devices/02:00.0");
        await Call(HttpMethod.Post, "/mdevs", "/mdevs", """{"parent":"01:00.0","type":"idxd-wq"}""");
        await Call(HttpMethod.Get, "/mdevs", "/mdevs");
        int container = (await Call(HttpMethod.Post, "/containers", "/containers")).GetProperty("id").GetInt32();
        await Call(HttpMethod.Get, "/containers/{id}", $"/containers/{container}");
        await Call(HttpMethod.Get, "/faults", "/faults");
        await Call(HttpMethod.Get, "/stats", "/stats");
        await Call(HttpMethod.Get, "/sanitizer", "/sanitizer");
        await Call(HttpMethod.Delete, "/domains/{id}/mappings", $"/domains/{id}/mappings?iova=0x100000&size=0x1000");
        // Problem answers: each status is listed, and the body matches the Problem schema.
        await Call(HttpMethod.Get, "/domains/{id}", "/domains/999999");
        await Call(HttpMethod.Post, "/domains", "/domains", """{"type":"bogus"}""");
        await Call(HttpMethod.Delete, "/domains/{id}", $"/domains/{id}");
        await Call(HttpMethod.Post, "/domains/{id}/mappings", $"/domains/{id}/mappings", """{"hpa":"0x0","size":"0x1000"}""");
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }
}
