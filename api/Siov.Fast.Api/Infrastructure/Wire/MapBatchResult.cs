namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record MapBatchResult(int Mapped);
