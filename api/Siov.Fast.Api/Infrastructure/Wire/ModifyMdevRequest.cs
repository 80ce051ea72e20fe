using System.Text.Json;

namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary><c>PATCH /mdev/definitions/{uuid}</c>: the fields to change.</summary>
internal sealed record ModifyMdevRequest(string? Parent, string? MdevType, string? Start, JsonElement? Attrs);
