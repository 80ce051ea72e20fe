using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>
/// The OpenAPI document's title and description, the API-key security scheme on mutating operations, the problem
/// responses every operation can answer, binary and text bodies, and the wire records' schemas (<see cref="WireSchemas"/>).
/// </summary>
/// <remarks>What a client can rely on is written in docs/admin-api.md ("OpenAPI document"); OpenApiDocumentTests checks it.</remarks>
internal static class OpenApiDocumentSetup
{
    /// <summary>The component schema of every error body.</summary>
    public const string ProblemSchema = "Problem";

    /// <summary>The media type of every error body.</summary>
    public const string ProblemMediaType = "application/problem+json";

    private const string Binary = "application/octet-stream";

    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "Siov.Fast admin API";
            doc.Info.Description = "Platforms, iommu groups, domains, aux domains, mdevs, VFIO containers and DMA translation. "
                + "Errors are RFC 9457 problem+json bodies whose 'code' is the kernel errno name. "
                + $"Mutating calls need the API key in {ApiKeyAuthenticationHandler.HeaderName} (or Authorization: Bearer) "
                + "where the server requires one: always when it listens beyond loopback.";
            doc.Components ??= new OpenApiComponents();
            doc.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            doc.Components.SecuritySchemes[ApiKeyAuthenticationHandler.SchemeName] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyAuthenticationHandler.HeaderName,
                Description = "The server's API key (SIOV_API_KEY). Required for mutating calls when the server listens beyond loopback or has a key configured.",
            };
            doc.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
            doc.Components.Schemas[ProblemSchema] = Problem();
            WireSchemas.Apply(doc);
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            IList<object> metadata = context.Description.ActionDescriptor.EndpointMetadata;
            bool needsKey = metadata.OfType<AuthorizeAttribute>().Any(a => a.Policy == ApiKeyAuthenticationHandler.MutatingPolicy)
                && !metadata.OfType<IAllowAnonymous>().Any();
            if (needsKey)
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement
                {
                    [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, context.Document)] = [],
                });
            }
            DescribeBodies(operation, metadata);
            AddExample(operation, context);
            DescribeQuery(operation);
            AddProblems(operation, context, needsKey);
            return Task.CompletedTask;
        });
    }

    /// <summary>Binary bodies as bytes, text answers as strings.</summary>
    private static void DescribeBodies(OpenApiOperation operation, IList<object> metadata)
    {
        if (operation.RequestBody?.Content is { } request && request.TryGetValue(Binary, out OpenApiMediaType? binaryRequest))
            binaryRequest.Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = "16-byte little-endian request records" };
        foreach (IProducesResponseTypeMetadata produces in metadata.OfType<IProducesResponseTypeMetadata>())
        {
            if (!produces.ContentTypes.Contains("text/plain") || operation.Responses?.TryGetValue(produces.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture), out IOpenApiResponse? response) != true
                || response is not OpenApiResponse text)
                continue;
            text.Content ??= new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal);
            text.Content["text/plain"] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String } };
        }
        foreach (IOpenApiResponse response in operation.Responses?.Values ?? Enumerable.Empty<IOpenApiResponse>())
        {
            if (response.Content is { } content && content.TryGetValue(Binary, out OpenApiMediaType? binaryAnswer))
                binaryAnswer.Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = "16-byte little-endian result records" };
        }
    }

    /// <summary>The request record's example on its JSON body, where Swagger UI's "Try it out" takes it from.</summary>
    private static void AddExample(OpenApiOperation operation, OpenApiOperationTransformerContext context)
    {
        Type? body = context.Description.ParameterDescriptions
            .FirstOrDefault(p => p.Source == Microsoft.AspNetCore.Mvc.ModelBinding.BindingSource.Body)?.Type;
        if (body == null || operation.RequestBody?.Content is not { } content || !content.TryGetValue("application/json", out OpenApiMediaType? json))
            return;
        // The handlers reject a null body: the document offers the record only.
        json.Schema = json.Schema == null ? null : WireSchemas.WithoutNull(json.Schema);
        if (WireExamples.For(body.Name) is { } example)
            json.Example = example;
    }

    /// <summary>Query parameters the handlers parse as hex, or as one of a few words.</summary>
    private static void DescribeQuery(OpenApiOperation operation)
    {
        foreach (IOpenApiParameter parameter in operation.Parameters ?? [])
        {
            if (parameter.In != ParameterLocation.Query || parameter.Schema is not OpenApiSchema schema)
                continue;
            if (parameter.Name is "iova" or "size" or "start")
                schema.Pattern = WireSchemas.HexRequestPattern;
            else if (parameter.Name == "access")
                schema.Enum = [JsonValue.Create("read"), JsonValue.Create("write"), JsonValue.Create("rw")];
        }
    }

    /// <summary>
    /// The errors an operation can answer, each a problem body: 400 (EINVAL: a malformed request) always; 404 (ENOENT)
    /// where the path names an object; 401 (EPERM) where the API key is needed; 409 (EBUSY, EEXIST, ENOSPC, EPERM,
    /// ENODEV) and 507 (ENOMEM) on mutating calls; 413 (E2BIG) and 415 where a body is read.
    /// </summary>
    private static void AddProblems(OpenApiOperation operation, OpenApiOperationTransformerContext context, bool needsKey)
    {
        string method = context.Description.HttpMethod ?? "GET";
        bool mutating = !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method));
        bool hasPathObject = context.Description.ParameterDescriptions.Any(p => p.Source == Microsoft.AspNetCore.Mvc.ModelBinding.BindingSource.Path);
        operation.Responses ??= [];
        Add(operation, context, 400, "EINVAL: the request is malformed (a field, parameter or body the handler rejects)");
        if (needsKey)
            Add(operation, context, 401, "EPERM: the API key is missing or wrong");
        if (hasPathObject)
            Add(operation, context, 404, "ENOENT: no such object");
        if (mutating)
        {
            Add(operation, context, 409, "EBUSY, EEXIST, ENOSPC, EPERM or ENODEV: the state forbids the call");
            Add(operation, context, 507, "ENOMEM: page-table memory is exhausted");
        }
        if (operation.RequestBody != null)
        {
            Add(operation, context, 413, "E2BIG: the body is larger than the route reads");
            Add(operation, context, 415, "EINVAL: the Content-Type is not one the route reads");
        }
    }

    private static void Add(OpenApiOperation operation, OpenApiOperationTransformerContext context, int status, string description)
    {
        string key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (operation.Responses!.TryGetValue(key, out IOpenApiResponse? existing) && existing.Content?.ContainsKey(ProblemMediaType) == true)
            return;
        operation.Responses[key] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
            {
                [ProblemMediaType] = new OpenApiMediaType { Schema = new OpenApiSchemaReference(ProblemSchema, context.Document) },
            },
        };
    }

    /// <summary>An RFC 9457 problem body as <see cref="Problems"/> writes it.</summary>
    private static OpenApiSchema Problem() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "RFC 9457 problem details; 'code' is the kernel errno name (a stable machine-readable code).",
        Required = new HashSet<string>(StringComparer.Ordinal) { "type", "title", "status", "code" },
        Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal)
        {
            ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^urn:siov-fast:errno:[A-Z0-9]+$" },
            ["title"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" },
            ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["code"] = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^[A-Z0-9]+$", Examples = [JsonValue.Create("ENOENT")] },
            ["trace_id"] = new OpenApiSchema { Type = JsonSchemaType.String },
        },
    };
}
