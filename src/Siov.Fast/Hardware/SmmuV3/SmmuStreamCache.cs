using System.Collections.Concurrent;

namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>The configuration cache entry of one StreamID: the decoded STE, its target for transactions without
/// SubstreamID, and the CDs read so far by SubstreamID. Read without locks.</summary>
internal sealed class SmmuStreamCache(StreamTableEntry ste, SmmuTarget? noSubstream)
{
    public readonly StreamTableEntry Ste = ste;
    public readonly SmmuTarget? NoSubstream = noSubstream;
    public readonly ConcurrentDictionary<uint, SmmuTarget> Substreams = new();
}
