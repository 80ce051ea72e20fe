
namespace Siov.Fast.Api.Durability;

/// <summary>One journalled call: its place, the endpoint's name, its arguments as <see cref="JournalReplay"/> reads
/// them, and whether the call before it succeeded (null when that was not known when this one was written).</summary>
internal sealed record JournalRecord(long Sequence, string Operation, byte[] Arguments, bool? PreviousSucceeded);
