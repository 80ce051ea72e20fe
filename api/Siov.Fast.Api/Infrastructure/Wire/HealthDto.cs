using Microsoft.AspNetCore.Http.HttpResults;
using Siov.Fast.Api.Durability;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Iommu;

namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary>A health answer: <c>ok</c>, or <c>unhealthy</c> with what is wrong.</summary>
internal sealed record HealthDto(string Status, string? Detail = null);
