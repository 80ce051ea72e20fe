using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>The OpenAPI document's title and description, and the API-key security scheme on mutating operations.</summary>
internal static class OpenApiDocumentSetup
{
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
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            bool needsKey = context.Description.ActionDescriptor.EndpointMetadata.OfType<AuthorizeAttribute>()
                .Any(a => a.Policy == ApiKeyAuthenticationHandler.MutatingPolicy);
            if (needsKey)
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement
                {
                    [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, context.Document)] = [],
                });
            }
            return Task.CompletedTask;
        });
    }
}
