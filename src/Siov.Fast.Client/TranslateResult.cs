namespace Siov.Fast.Client;

/// <summary>A translation's result (<c>GET /translate</c>).</summary>
/// <param name="Ok">Whether it translated.</param>
/// <param name="Hpa">The host physical address, "0x..." hex (absent on a fault).</param>
/// <param name="PageSize">The page size, "0x..." hex (absent on a fault).</param>
/// <param name="Permissions">"r", "w" or "rw" (absent on a fault).</param>
/// <param name="Fault">Why it faulted (absent on success).</param>
public sealed record TranslateResult(bool Ok, string? Hpa, string? PageSize, string? Permissions, FaultInfo? Fault);
