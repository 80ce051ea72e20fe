namespace Siov.Fast.Memory;

/// <summary>
/// Hands out the 4 KiB frames of a <see cref="PhysicalMemory"/> region for page-table and
/// remapping-table pages. Every frame handed out is zero-filled.
/// </summary>
/// <remarks>
/// Allocation and freeing serialize on one lock: they happen on the map/unmap/attach paths,
/// never on a translation. A bitmap of allocated frames catches double frees and frees of
/// addresses that were never handed out.
/// </remarks>
public sealed class FrameAllocator
{
    private readonly PhysicalMemory _memory;
    private readonly Lock _lock = new();
    private readonly ulong[] _allocated;     // one bit per frame
    private readonly int[] _freeStack;       // frames returned by Free, reused first (LIFO)
    private int _freeCount;
    private int _nextUntouched;              // frames at or above this index were never handed out
    private int _inUse;

    internal FrameAllocator(PhysicalMemory memory)
    {
        _memory = memory;
        ulong frames = memory.Size / PhysicalMemory.FrameSize;
        if (frames > int.MaxValue)
            Throw.Iommu(Errno.EINVAL, $"memory of {Throw.Hex(memory.Size)} bytes has more than 2^31 frames");
        TotalFrames = (int)frames;
        _allocated = new ulong[(TotalFrames + 63) / 64];
        _freeStack = new int[TotalFrames];
    }

    /// <summary>Number of 4 KiB frames in the region.</summary>
    public int TotalFrames { get; }

    /// <summary>Number of frames currently handed out.</summary>
    public int AllocatedFrames => Volatile.Read(ref _inUse);

    /// <summary>Number of frames that can still be handed out.</summary>
    public int FreeFrames => TotalFrames - AllocatedFrames;

    /// <summary>Allocates one zero-filled 4 KiB frame.</summary>
    /// <returns>The frame's HPA (4 KiB aligned).</returns>
    /// <exception cref="IommuException">ENOMEM when every frame is in use.</exception>
    public ulong Allocate()
    {
        if (!TryAllocate(out ulong hpa))
            Throw.Iommu(Errno.ENOMEM, $"simulated physical memory is full: all {TotalFrames} frames of 4 KiB are in use");
        return hpa;
    }

    /// <summary>Allocates one zero-filled 4 KiB frame, or reports that none is free.</summary>
    /// <param name="hpa">The frame's HPA when the call succeeds, else 0.</param>
    /// <returns>False when every frame is in use.</returns>
    public bool TryAllocate(out ulong hpa)
    {
        int frame;
        lock (_lock)
        {
            if (_freeCount > 0)
                frame = _freeStack[--_freeCount];
            else if (_nextUntouched < TotalFrames)
                frame = _nextUntouched++;
            else
            {
                hpa = 0;
                return false;
            }
            _allocated[frame >> 6] |= 1UL << frame;
            _inUse++;
        }
        hpa = _memory.BaseHpa + (ulong)frame * PhysicalMemory.FrameSize;
        _memory.ClearFrame(hpa);
        return true;
    }

    /// <summary>
    /// Allocates <paramref name="count"/> physically contiguous zero-filled frames (a PASID
    /// directory larger than 4 KiB needs them). They come from the part of the region that was
    /// never handed out, so freed frames are not reused for this; each frame is freed on its own.
    /// </summary>
    /// <param name="count">Number of 4 KiB frames, 1 or more.</param>
    /// <returns>HPA of the first frame.</returns>
    /// <exception cref="IommuException">EINVAL when <paramref name="count"/> is below 1; ENOMEM when
    /// no run of that many untouched frames is left.</exception>
    public ulong AllocateContiguous(int count)
    {
        if (count < 1)
            Throw.Iommu(Errno.EINVAL, $"contiguous allocation of {count} frames: the count must be at least 1");
        if (count == 1)
            return Allocate();
        int first;
        lock (_lock)
        {
            if (TotalFrames - _nextUntouched < count)
                Throw.Iommu(Errno.ENOMEM,
                    $"no run of {count} contiguous free frames is left ({TotalFrames - _nextUntouched} untouched frames)");
            first = _nextUntouched;
            _nextUntouched += count;
            for (int frame = first; frame < first + count; frame++)
                _allocated[frame >> 6] |= 1UL << frame;
            _inUse += count;
        }
        ulong hpa = _memory.BaseHpa + (ulong)first * PhysicalMemory.FrameSize;
        for (int i = 0; i < count; i++)
            _memory.ClearFrame(hpa + (ulong)i * PhysicalMemory.FrameSize);
        return hpa;
    }

    /// <summary>Returns a frame to the allocator. The caller guarantees no walker still reads it.</summary>
    /// <param name="hpa">HPA of a frame returned by <see cref="Allocate"/>.</param>
    /// <exception cref="IommuException">EINVAL when the HPA is not a frame of this region or the frame is not allocated.</exception>
    public void Free(ulong hpa)
    {
        int frame = FrameIndex(hpa);
        lock (_lock)
        {
            ulong bit = 1UL << frame;
            if ((_allocated[frame >> 6] & bit) == 0)
                Throw.Iommu(Errno.EINVAL, $"frame {Throw.Hex(hpa)} is not allocated (double free?)");
            _allocated[frame >> 6] &= ~bit;
            _freeStack[_freeCount++] = frame;
            _inUse--;
        }
    }

    /// <summary>True when <paramref name="hpa"/> is the HPA of a frame that is currently allocated.</summary>
    /// <param name="hpa">Any HPA.</param>
    /// <returns>Whether the frame starting there is handed out.</returns>
    public bool IsAllocated(ulong hpa)
    {
        if ((hpa & (PhysicalMemory.FrameSize - 1)) != 0 || !_memory.Contains(hpa, PhysicalMemory.FrameSize))
            return false;
        int frame = (int)((hpa - _memory.BaseHpa) / PhysicalMemory.FrameSize);
        lock (_lock)
            return (_allocated[frame >> 6] & (1UL << frame)) != 0;
    }

    private int FrameIndex(ulong hpa)
    {
        if ((hpa & (PhysicalMemory.FrameSize - 1)) != 0 || !_memory.Contains(hpa, PhysicalMemory.FrameSize))
            Throw.Iommu(Errno.EINVAL, $"{Throw.Hex(hpa)} is not the HPA of a 4 KiB frame of this memory");
        return (int)((hpa - _memory.BaseHpa) / PhysicalMemory.FrameSize);
    }
}
