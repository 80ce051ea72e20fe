namespace Siov.Fast.Client;

/// <summary>Why a translation faulted.</summary>
/// <param name="Code">The VT-d fault reason, "0x.." hex.</param>
/// <param name="Reason">The reason as Linux names it.</param>
public sealed record FaultInfo(string Code, string Reason);
