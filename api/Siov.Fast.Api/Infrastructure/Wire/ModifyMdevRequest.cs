using System.Text.Json;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.PageTables;
using Siov.Fast.Platforms;
using Siov.Fast.Vfio;

namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary><c>PATCH /mdev/definitions/{uuid}</c>: the fields to change.</summary>
internal sealed record ModifyMdevRequest(string? Parent, string? MdevType, string? Start, JsonElement? Attrs);
