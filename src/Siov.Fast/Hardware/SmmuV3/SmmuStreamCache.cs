using System.Runtime.CompilerServices;

namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>
/// The configuration cache entry of one StreamID: the decoded STE, its target for transactions without SubstreamID,
/// and the CDs read so far, by SubstreamID in rows of 64 made on first use ([SSID 19:6][SSID 5:0]). Read without locks
/// (two or three loads); filled by compare-and-swap, so a racing fill that lost is dropped.
/// </summary>
internal sealed class SmmuStreamCache(StreamTableEntry ste)
{
    /// <summary>The key of the target for transactions without SubstreamID.</summary>
    public const uint NoSubstream = uint.MaxValue;

    private SmmuTarget? _noSubstream;
    private SmmuTarget?[]?[]? _rows;

    public readonly StreamTableEntry Ste = ste;

    /// <summary>The cached target of <paramref name="key"/>, or null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public SmmuTarget? Lookup(uint key)
    {
        if (key == NoSubstream)
            return Volatile.Read(ref _noSubstream);
        SmmuTarget?[]?[]? rows = Volatile.Read(ref _rows);
        uint row = key >> 6;
        return rows != null && row < (uint)rows.Length ? Volatile.Read(ref rows[row])?[key & 63] : null;
    }

    /// <summary>Installs a target where none is; the slot, so a racing invalidation can be undone.</summary>
    public bool TryAdd(uint key, SmmuTarget target) =>
        Interlocked.CompareExchange(ref Slot(key), target, null) == null;

    /// <summary>Removes <paramref name="target"/> from its slot when it is still there.</summary>
    public void Remove(uint key, SmmuTarget target) => Interlocked.CompareExchange(ref Slot(key), null, target);

    /// <summary>Drops the target of <paramref name="key"/>.</summary>
    public void Remove(uint key)
    {
        if (key == NoSubstream)
        {
            Volatile.Write(ref _noSubstream, null);
            return;
        }
        SmmuTarget?[]?[]? rows = Volatile.Read(ref _rows);
        if (rows != null && key >> 6 < (uint)rows.Length && Volatile.Read(ref rows[key >> 6]) is { } row)
            Volatile.Write(ref row[key & 63], null);
    }

    /// <summary>Drops every target.</summary>
    public void Clear()
    {
        Volatile.Write(ref _noSubstream, null);
        Volatile.Write(ref _rows, null);
    }

    private ref SmmuTarget? Slot(uint key)
    {
        if (key == NoSubstream)
            return ref _noSubstream;
        SmmuTarget?[]?[]? rows = Volatile.Read(ref _rows);
        if (rows == null)
        {
            Interlocked.CompareExchange(ref _rows, new SmmuTarget?[]?[1 << 14], null); // 2^20 SubstreamIDs / 64
            rows = Volatile.Read(ref _rows)!;
        }
        ref SmmuTarget?[]? row = ref rows[(key >> 6) & ((1u << 14) - 1)];
        if (row == null)
            Interlocked.CompareExchange(ref row, new SmmuTarget?[64], null);
        return ref row![key & 63];
    }
}
