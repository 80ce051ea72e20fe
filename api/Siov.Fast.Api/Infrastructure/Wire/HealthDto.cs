using Microsoft.AspNetCore.Http.HttpResults;
using Siov.Fast.Api.Durability;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Iommu;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record HealthDto(string Status);
