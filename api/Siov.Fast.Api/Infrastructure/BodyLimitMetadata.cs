
namespace Siov.Fast.Api.Infrastructure;

/// <summary>Endpoint metadata: the largest body the endpoint reads, in bytes (batch routes); others get
/// <see cref="ServerLimits.MaxBodyBytes"/>.</summary>
internal sealed record BodyLimitMetadata(long MaxBytes);
