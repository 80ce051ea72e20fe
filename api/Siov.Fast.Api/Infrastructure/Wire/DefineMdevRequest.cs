using System.Text.Json;

namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary><c>POST /mdev/definitions</c>.</summary>
internal sealed record DefineMdevRequest(string? Uuid, string? Parent, string? MdevType, string? Start, JsonElement? Attrs);
