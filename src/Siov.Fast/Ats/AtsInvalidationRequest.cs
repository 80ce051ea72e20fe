namespace Siov.Fast.Ats;

/// <summary>
/// One ATS invalidation request sent to a function (PCIe ATS "Invalidate Request"), from a VT-d device-TLB or PASID-based
/// device-TLB invalidation descriptor or an SMMUv3 CMD_ATC_INV: the range to drop and, when the request carries one, the
/// PASID (SubstreamID). The function answers it once with <see cref="Complete"/> (the "Invalidate Completion" message);
/// the unit's invalidation wait descriptors (SMMUv3: CMD_SYNC) behind it complete only when every request before them is
/// answered.
/// </summary>
public sealed class AtsInvalidationRequest
{
    private readonly Action<AtsInvalidationRequest> _onComplete;
    private int _completed;

    internal AtsInvalidationRequest(ushort requesterId, uint? pasid, bool global, ulong address, int sizeShift,
        Action<AtsInvalidationRequest> onComplete)
    {
        RequesterId = requesterId;
        Pasid = pasid;
        Global = global;
        Address = address;
        SizeShift = sizeShift;
        _onComplete = onComplete;
    }

    /// <summary>The function the request goes to (the descriptor's SID).</summary>
    public ushort RequesterId { get; }

    /// <summary>The PASID the request carries (a PASID-based descriptor), or null: then it applies to every entry in
    /// the range, with or without a PASID.</summary>
    public uint? Pasid { get; }

    /// <summary>The Global Invalidate bit (a PASID-based descriptor's G): entries of every PASID in the range go.</summary>
    public bool Global { get; }

    /// <summary>First byte of the range (aligned to its size).</summary>
    public ulong Address { get; }

    /// <summary>log2 of the range's size in bytes: 12 for a page, 64 for the whole address space.</summary>
    public int SizeShift { get; }

    /// <summary>True once answered.</summary>
    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    /// <summary>Whether an ATC entry for <paramref name="pasid"/> covering <c>[first, first + 2^pageShift)</c> falls under
    /// this request.</summary>
    /// <param name="pasid">The entry's PASID, or null for an entry asked for without one.</param>
    /// <param name="first">The entry's first byte.</param>
    /// <param name="pageShift">log2 of the entry's size.</param>
    /// <returns>True when the entry must go.</returns>
    public bool Covers(uint? pasid, ulong first, int pageShift)
    {
        if (Pasid is uint p && !Global && pasid != p)
            return false;
        if (SizeShift >= 64)
            return true;
        ulong last = Address + ((1UL << SizeShift) - 1);
        ulong entryLast = first + ((1UL << pageShift) - 1);
        return first <= last && entryLast >= Address;
    }

    /// <summary>Answers the request (the function's "Invalidate Completion"). Only the first call counts; later ones, and
    /// calls after the unit gave up waiting (an invalidation time-out), do nothing.</summary>
    public void Complete()
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
            _onComplete(this);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"ATS invalidate {RequesterIds.Format(RequesterId)} {(Pasid is uint p ? $"PASID {Throw.Hex(p)}{(Global ? " G" : "")}" : "no PASID")} "
        + (SizeShift >= 64 ? "all" : $"{Throw.Hex(Address)} 2^{SizeShift}");
}
