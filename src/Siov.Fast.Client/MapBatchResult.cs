namespace Siov.Fast.Client;

/// <summary>The answer of a batch map.</summary>
/// <param name="Mapped">How many mappings were made.</param>
public sealed record MapBatchResult(int Mapped);
