namespace Siov.Fast.Memory;

/// <summary>
/// The last write to each recently written 8-byte entry of a <see cref="PhysicalMemory"/>, numbered in write order,
/// for the invalidation sanitizer to name the table entry a driver changed. Off unless
/// <see cref="PhysicalMemory.EnableWriteLog"/> was called; it holds the last <see cref="Capacity"/> distinct entries
/// written (older ones are forgotten). Writes are logged on the writers' paths (map, unmap, table programming), never
/// on a translation.
/// </summary>
public sealed class MemoryWriteLog
{
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, MemoryWrite> _last = [];
    private readonly Queue<ulong> _order = new();
    private long _sequence;   // writes begun
    private long _finished;   // writes landed

    internal MemoryWriteLog(int capacity)
    {
        if (capacity < 1)
            Throw.Iommu(Errno.EINVAL, $"write log capacity {capacity} must be at least 1");
        Capacity = capacity;
    }

    /// <summary>Distinct entries remembered.</summary>
    public int Capacity { get; }

    /// <summary>Number of the latest write (0 before any).</summary>
    public long Sequence => Volatile.Read(ref _sequence);

    /// <summary>The last write to the entry at <paramref name="hpa"/>, if it is still remembered.</summary>
    /// <param name="hpa">An 8-byte aligned HPA.</param>
    /// <param name="write">The write.</param>
    /// <returns>False when the entry was not written since the log was enabled, or has been forgotten.</returns>
    public bool TryGetLastWrite(ulong hpa, out MemoryWrite write)
    {
        lock (_lock)
            return _last.TryGetValue(hpa, out write);
    }

    /// <summary>The latest logged write among <paramref name="entries"/> (a walk's path of table entries: which change a
    /// cached answer may have missed), or null when none is remembered.</summary>
    /// <param name="entries">8-byte aligned HPAs.</param>
    /// <returns>The write with the highest sequence number, or null.</returns>
    internal MemoryWrite? LastWrite(ReadOnlySpan<ulong> entries)
    {
        MemoryWrite? changed = null;
        foreach (ulong at in entries)
        {
            if (TryGetLastWrite(at, out MemoryWrite write) && (changed is null || write.Sequence > changed.Value.Sequence))
                changed = write;
        }
        return changed;
    }

    /// <summary>True when every write begun has landed, with the number of the last one (for a reader that must see
    /// memory and the log agree: read it before and after, and trust what it read in between only if both say the same).</summary>
    internal bool IsQuiet(out long sequence)
    {
        sequence = Volatile.Read(ref _sequence);
        return Volatile.Read(ref _finished) == sequence;
    }

    /// <summary>A write has landed in memory (after <see cref="Record"/> and the store).</summary>
    internal void Landed() => Interlocked.Increment(ref _finished);

    /// <summary>A write is about to land: logged first, so a reader that saw the number unchanged and quiet saw no part of it.</summary>
    internal void Record(ulong hpa, ulong oldValue, ulong newValue)
    {
        lock (_lock)
        {
            long sequence = Interlocked.Increment(ref _sequence);
            if (!_last.ContainsKey(hpa))
            {
                _order.Enqueue(hpa);
                if (_order.Count > Capacity)
                    _last.Remove(_order.Dequeue());
            }
            _last[hpa] = new MemoryWrite(hpa, oldValue, newValue, sequence);
        }
    }
}
