namespace Siov.Fast.Concurrency;

/// <summary>
/// Epoch-based reclamation of table pages: a page that a writer unlinks from a live table is
/// handed to the owner's free callback only after every reader that could still hold a pointer
/// to it has finished.
/// </summary>
/// <remarks>
/// <para>The reclaimer knows frames only as HPAs and frees them through the callback it was
/// created with; each simulated memory creates one over its own frame allocator
/// (<c>PhysicalMemory.Reclaimer</c>, whose callback is <c>FrameAllocator.Free</c>), so this
/// namespace does not depend on the memory model.</para>
/// <para><b>Readers</b> (page walks, context and PASID table reads) run inside
/// <see cref="Protect"/>: they claim a slot and store the global epoch in it with a
/// compare-and-swap, whose full fence orders that announcement before every table read that
/// follows. Only the miss path walks tables, so the IOTLB hit path never pays for this.</para>
/// <para><b>Writers</b> unlink a page (release store of the cleared entry), then
/// <see cref="Retire"/> it: the page is tagged with the current epoch <c>r</c> and the epoch is
/// advanced with an interlocked increment (a full fence after the unlink). The page is freed
/// once every claimed slot holds an epoch above <c>r</c>: such a reader read the epoch after
/// the increment, so its walk starts after the unlink and cannot reach the page. A reader that
/// still holds <c>r</c> or less keeps the page alive until it leaves.</para>
/// <para>Both sides store, fence, then load (the store-buffering pattern), so either the writer
/// sees the reader's slot or the reader sees the cleared entry; never neither.</para>
/// </remarks>
public sealed class EpochReclaimer
{
    // 256 slots, each alone in a 64-byte line (8 longs) so readers never share a line.
    private const int SlotCount = 256;
    private const int SlotStride = 8;

    private readonly Action<ulong> _free;
    private readonly long[] _slots = new long[SlotCount * SlotStride];
    private readonly Lock _lock = new();
    private readonly List<(ulong Frame, long Epoch)> _pending = [];
    private readonly HashSet<ulong> _pendingFrames = [];
    private long _epoch = 1;

    /// <summary>Creates a reclaimer that hands every frame, once no reader can hold it, to <paramref name="free"/>.</summary>
    /// <param name="free">Frees one frame, given its HPA (<c>FrameAllocator.Free</c> for a
    /// simulated memory). Called under the reclaimer's lock by whichever thread retires, drains or
    /// synchronizes, never on the read side; it must not call back into the reclaimer.</param>
    internal EpochReclaimer(Action<ulong> free)
    {
        ArgumentNullException.ThrowIfNull(free);
        _free = free;
    }

    /// <summary>The current global epoch (starts at 1, advanced by every <see cref="Retire"/>).</summary>
    public long CurrentEpoch => Volatile.Read(ref _epoch);

    /// <summary>Frames retired but not yet freed (handed to the free callback).</summary>
    public int PendingFrames
    {
        get
        {
            lock (_lock)
                return _pending.Count;
        }
    }

    /// <summary>
    /// Enters a read-side critical section: until the returned scope is disposed, no frame
    /// retired from now on is freed. Costs one compare-and-swap; never allocates.
    /// </summary>
    /// <returns>The scope; dispose it (a <c>using</c> statement) when the reads are done.</returns>
    public EpochScope Protect()
    {
        long epoch = Volatile.Read(ref _epoch);
        int start = (ThreadIndex.Current & (SlotCount - 1)) * SlotStride;
        for (int probe = 0; ; probe++)
        {
            int slot = (start + probe * SlotStride) & (SlotCount * SlotStride - 1);
            // Full fence: the announcement is visible before any table read of this reader.
            if (Interlocked.CompareExchange(ref _slots[slot], epoch, 0) == 0)
                return new EpochScope(this, slot);
            if (probe >= SlotCount)
                Thread.Yield(); // more than 256 readers at once: wait for a slot
        }
    }

    internal void Exit(int slot) => Volatile.Write(ref _slots[slot], 0);

    /// <summary>
    /// Hands a frame that has been unlinked from every table back for freeing once no reader
    /// can hold it. Frees it at once when no reader is inside a protected section.
    /// </summary>
    /// <param name="frameHpa">HPA of a 4 KiB frame that the free callback accepts (for
    /// <c>PhysicalMemory.Reclaimer</c>, a frame allocated from that memory). Retiring a frame
    /// that is already pending is ignored.</param>
    public void Retire(ulong frameHpa)
    {
        lock (_lock)
        {
            if (!_pendingFrames.Add(frameHpa))
                return;
            // Full fence: the caller's unlink is ordered before the slot scan in Drain.
            long retiredAt = Interlocked.Increment(ref _epoch) - 1;
            _pending.Add((frameHpa, retiredAt));
            DrainLocked();
        }
    }

    /// <summary>Frees every pending frame that no reader can still hold.</summary>
    /// <returns>The number of frames freed.</returns>
    public int Drain()
    {
        lock (_lock)
            return DrainLocked();
    }

    /// <summary>Waits until every frame retired before the call has been freed (readers inside
    /// a protected section are waited for). For teardown and tests.</summary>
    public void Synchronize()
    {
        var spinner = new SpinWait();
        while (true)
        {
            lock (_lock)
            {
                DrainLocked();
                if (_pending.Count == 0)
                    return;
            }
            spinner.SpinOnce();
        }
    }

    private int DrainLocked()
    {
        if (_pending.Count == 0)
            return 0;
        long oldestReader = long.MaxValue;
        for (int slot = 0; slot < _slots.Length; slot += SlotStride)
        {
            long epoch = Volatile.Read(ref _slots[slot]);
            if (epoch != 0 && epoch < oldestReader)
                oldestReader = epoch;
        }
        // Epochs are handed out in increasing order, so the frees form a prefix of the list.
        int freed = 0;
        while (freed < _pending.Count && _pending[freed].Epoch < oldestReader)
        {
            // A reader that announced the retire epoch or less may still hold a pointer: stop there.
            ulong frame = _pending[freed].Frame;
            _pendingFrames.Remove(frame);
            _free(frame);
            freed++;
        }
        _pending.RemoveRange(0, freed);
        return freed;
    }
}
