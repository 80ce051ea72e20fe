namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary>A definition: mdevctl's fields, and whether the mdev is running.</summary>
internal sealed record MdevDefinitionDto(string Uuid, string Parent, string MdevType, string Start, Dictionary<string, string>[] Attrs, bool Active);
