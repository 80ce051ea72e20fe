namespace Siov.Fast.Devices;

/// <summary>The completion record of a work descriptor.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="BytesCompleted">Bytes moved before it ended (all of them on success).</param>
/// <param name="FaultAddress">The address that stopped it (0 on success).</param>
/// <param name="PageRequests">Page requests the work queue sent for it.</param>
public readonly record struct CompletionRecord(CompletionStatus Status, ulong BytesCompleted, ulong FaultAddress, int PageRequests);
