namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary>What an import defined.</summary>
internal sealed record ImportResultDto(int Defined, string[] Uuids);
