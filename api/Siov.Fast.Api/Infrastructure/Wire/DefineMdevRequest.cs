using System.Text.Json;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.PageTables;
using Siov.Fast.Platforms;
using Siov.Fast.Vfio;

namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary><c>POST /mdev/definitions</c>.</summary>
internal sealed record DefineMdevRequest(string? Uuid, string? Parent, string? MdevType, string? Start, JsonElement? Attrs);
