using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.PageTables;
using Siov.Fast.Platforms;
using Siov.Fast.Vfio;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record IoasUnmapRequest([property: Required] string? Iova, [property: Required] string? Length);
