namespace Siov.Fast.Iommu;

/// <summary>
/// A bitmap allocator of small integer ids (PASIDs, domain ids): lowest free id first, like
/// the kernel's IDA. Not thread-safe: its owner serializes calls.
/// </summary>
internal sealed class IdAllocator
{
    private readonly ulong[] _bits;
    private readonly uint _first;

    /// <param name="first">Lowest id handed out (ids below it are reserved).</param>
    /// <param name="limit">One past the highest id.</param>
    public IdAllocator(uint first, uint limit)
    {
        _first = first;
        Limit = limit;
        _bits = new ulong[(limit + 63) / 64];
    }

    /// <summary>One past the highest id.</summary>
    public uint Limit { get; }

    /// <summary>Ids in use.</summary>
    public int Count { get; private set; }

    public bool IsAllocated(uint id) => id < Limit && (_bits[id >> 6] & (1UL << (int)(id & 63))) != 0;

    /// <summary>Takes the lowest free id below <paramref name="bound"/>, or returns false when there is none.</summary>
    public bool TryAllocate(uint bound, out uint id)
    {
        bound = Math.Min(bound, Limit);
        for (uint word = _first >> 6; word < (bound + 63) >> 6; word++)
        {
            ulong free = ~_bits[word];
            if (word == _first >> 6)
                free &= ~0UL << (int)(_first & 63); // ids below _first are reserved
            if (free == 0)
                continue;
            uint candidate = word * 64 + (uint)ulong.TrailingZeroCount(free);
            if (candidate >= bound)
                break;
            Reserve(candidate);
            id = candidate;
            return true;
        }
        id = 0;
        return false;
    }

    /// <summary>Marks a free id as used (the caller checked <see cref="IsAllocated"/>).</summary>
    public void Reserve(uint id)
    {
        _bits[id >> 6] |= 1UL << (int)(id & 63);
        Count++;
    }

    public void Free(uint id)
    {
        if (!IsAllocated(id))
            return;
        _bits[id >> 6] &= ~(1UL << (int)(id & 63));
        Count--;
    }
}
