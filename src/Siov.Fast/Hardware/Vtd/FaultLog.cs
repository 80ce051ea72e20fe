namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// The primary fault log of a remapping unit: a bounded ring of <see cref="FaultRecord"/>s
/// that software drains oldest first. When a fault arrives and every slot is full, the unit
/// sets <see cref="PrimaryFaultOverflow"/> (FSTS_REG.PFO) and drops it; while PFO is set no new
/// fault is recorded, as the hardware does, until software clears it (VT-d spec section 7.2.1).
/// </summary>
/// <remarks>Recording happens on the fault path only and takes a lock; translations that do
/// not fault never touch the log.</remarks>
public sealed class FaultLog
{
    private readonly Lock _lock = new();
    private readonly FaultRecord[] _ring;
    private int _head;
    private int _count;
    private bool _overflow;
    private long _recorded;
    private long _dropped;
    private readonly long[] _byReason = new long[256]; // recorded or dropped, indexed by the FR code; written under _lock

    /// <summary>Creates an empty log.</summary>
    /// <param name="capacity">Number of fault records it holds, 1 to 65536.</param>
    /// <exception cref="IommuException">EINVAL when the capacity is out of range.</exception>
    public FaultLog(int capacity)
    {
        if (capacity is < 1 or > 65536)
            Throw.Iommu(Errno.EINVAL, $"fault log capacity {capacity} is outside 1-65536");
        _ring = new FaultRecord[capacity];
    }

    /// <summary>Number of records the log holds when full.</summary>
    public int Capacity => _ring.Length;

    /// <summary>Records waiting to be read.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
                return _count;
        }
    }

    /// <summary>PFO: a fault was dropped because the log was full; no fault is recorded until <see cref="ClearOverflow"/>.</summary>
    public bool PrimaryFaultOverflow
    {
        get
        {
            lock (_lock)
                return _overflow;
        }
    }

    /// <summary>Faults recorded since the unit was created.</summary>
    public long Recorded => Volatile.Read(ref _recorded);

    /// <summary>Faults dropped because of overflow since the unit was created.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>Faults of one reason that reached the log (recorded or dropped by overflow) since the unit was created;
    /// faults suppressed by fault processing disable never reach it.</summary>
    /// <param name="reason">The fault reason.</param>
    /// <returns>The count.</returns>
    public long ReportedWithReason(FaultReason reason)
    {
        lock (_lock)
            return _byReason[(byte)reason];
    }

    /// <summary>Records a fault, or drops it and sets PFO when the log is full (or PFO is already set).</summary>
    /// <param name="record">The fault.</param>
    /// <returns>True when it was recorded.</returns>
    internal bool Record(in FaultRecord record)
    {
        lock (_lock)
        {
            _byReason[(byte)record.Reason]++;
            if (_overflow || _count == _ring.Length)
            {
                _overflow = true;
                _dropped++;
                return false;
            }
            _ring[(_head + _count) % _ring.Length] = record;
            _count++;
            _recorded++;
            return true;
        }
    }

    /// <summary>Takes the oldest record out of the log (software reading a fault recording register and clearing its F bit).</summary>
    /// <param name="record">The record, when there was one.</param>
    /// <returns>False when the log is empty.</returns>
    public bool TryRead(out FaultRecord record)
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                record = default;
                return false;
            }
            record = _ring[_head];
            _head = (_head + 1) % _ring.Length;
            _count--;
            return true;
        }
    }

    /// <summary>Takes every record out of the log, oldest first.</summary>
    /// <returns>The records.</returns>
    public IReadOnlyList<FaultRecord> ReadAll()
    {
        var list = new List<FaultRecord>();
        while (TryRead(out FaultRecord record))
            list.Add(record);
        return list;
    }

    /// <summary>Copies the records without taking them out, oldest first.</summary>
    /// <returns>The records.</returns>
    public IReadOnlyList<FaultRecord> Peek()
    {
        lock (_lock)
        {
            var list = new FaultRecord[_count];
            for (int i = 0; i < _count; i++)
                list[i] = _ring[(_head + i) % _ring.Length];
            return list;
        }
    }

    /// <summary>Clears PFO (software writing 1 to FSTS_REG.PFO) so that faults are recorded again.</summary>
    public void ClearOverflow()
    {
        lock (_lock)
            _overflow = false;
    }
}
