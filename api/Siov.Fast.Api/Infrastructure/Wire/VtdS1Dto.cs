namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record VtdS1Dto(string[]? Flags, string? PgtblAddr, int? AddrWidth);
