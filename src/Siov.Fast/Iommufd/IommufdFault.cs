using Siov.Fast.Ats;
using Siov.Fast.Iommu;

namespace Siov.Fast.Iommufd;

/// <summary>
/// A fault object (<c>IOMMU_FAULT_QUEUE_ALLOC</c>, <c>struct iommufd_fault</c>): HWPTs allocated with its id report their
/// I/O page faults here instead of to the kernel; user space reads the groups as records (<see cref="Read"/>, the fault
/// file's read) and answers each group by its cookie (<see cref="Respond"/>, the file's write). Groups wait to be read up
/// to <see cref="MaxQueuedGroups"/>; past that, a new group is answered "invalid" at once. When a HWPT or the fault
/// object goes away, the groups it holds are answered "invalid" (<c>iommufd_auto_response_faults</c>).
/// </summary>
public sealed class IommufdFault : IommufdObject
{
    /// <summary>Groups queued (read and unread together) before new ones are refused: 1,024.</summary>
    public const int MaxQueuedGroups = 1024;

    private readonly Lock _lock = new();
    private readonly Queue<(IopfGroup Group, IommufdHwpt Hwpt)> _unread = new();
    private readonly Dictionary<uint, (IopfGroup Group, IommufdHwpt Hwpt)> _awaiting = [];
    private uint _nextCookie = 1;
    private long _refused;

    internal IommufdFault(IommufdContext context, uint id) : base(context, id)
    {
    }

    /// <inheritdoc/>
    public override IommufdObjectType Type => IommufdObjectType.Fault;

    /// <summary>Groups not read yet.</summary>
    public int UnreadGroups
    {
        get
        {
            lock (_lock)
                return _unread.Count;
        }
    }

    /// <summary>Groups read and not answered yet.</summary>
    public int AwaitingResponse
    {
        get
        {
            lock (_lock)
                return _awaiting.Count;
        }
    }

    /// <summary>Groups answered "invalid" at once because the queue was full.</summary>
    public long RefusedGroups => Volatile.Read(ref _refused);

    /// <summary>The handler the HWPT's domain gets: queues the group for user space.</summary>
    internal void Report(IopfGroup group, IommufdHwpt hwpt)
    {
        lock (_lock)
        {
            if (_unread.Count + _awaiting.Count < MaxQueuedGroups)
            {
                _unread.Enqueue((group, hwpt));
                return;
            }
        }
        Interlocked.Increment(ref _refused);
        group.Respond(PageResponseCode.InvalidRequest);
    }

    /// <summary>
    /// Reads whole groups, oldest first, as records (one per page request, the group's cookie in each), up to
    /// <paramref name="maxRecords"/> records; a group that does not fit whole is left for the next read. Read groups wait
    /// for <see cref="Respond"/>.
    /// </summary>
    /// <param name="maxRecords">At most this many records, 1 or more (the read buffer's size).</param>
    /// <returns>The records; empty when nothing is queued.</returns>
    /// <exception cref="IommuException">EINVAL for a buffer of no record; ENOENT when the object was destroyed.</exception>
    public IReadOnlyList<IommufdPageFault> Read(int maxRecords)
    {
        if (maxRecords < 1)
            Throw.Iommu(Errno.EINVAL, $"a fault read needs room for a record, not {maxRecords}");
        var records = new List<IommufdPageFault>();
        lock (Context.Lock)
        {
            Context.RequireLive(this);
            lock (_lock)
            {
                while (_unread.TryPeek(out (IopfGroup Group, IommufdHwpt Hwpt) next) && records.Count + next.Group.Requests.Count <= maxRecords)
                {
                    _unread.Dequeue();
                    uint cookie = _nextCookie++;
                    _awaiting.Add(cookie, next);
                    uint devId = DeviceIdOf(next.Group.Device);
                    foreach (PageRequest request in next.Group.Requests)
                        records.Add(Record(request, devId, cookie));
                }
            }
        }
        return records;
    }

    /// <summary>Answers the group of <paramref name="cookie"/> (<c>struct iommu_hwpt_page_response</c>): the device gets a
    /// page group response, success or invalid.</summary>
    /// <param name="cookie">A cookie from <see cref="Read"/>.</param>
    /// <param name="code">Success or invalid.</param>
    /// <exception cref="IommuException">EINVAL for a cookie no read group has (answered already, or never read) or a code
    /// other than the two; ENOENT when the object was destroyed.</exception>
    public void Respond(uint cookie, IommufdPageResponseCode code)
    {
        if (code is not (IommufdPageResponseCode.Success or IommufdPageResponseCode.Invalid))
            Throw.Iommu(Errno.EINVAL, $"page response code {(int)code} is neither success (0) nor invalid (1)");
        IopfGroup group;
        lock (Context.Lock)
        {
            Context.RequireLive(this);
            lock (_lock)
            {
                if (!_awaiting.Remove(cookie, out (IopfGroup Group, IommufdHwpt Hwpt) entry))
                    throw new IommuException(Errno.EINVAL, $"no page fault group waits for a response with cookie {cookie}");
                group = entry.Group;
            }
        }
        group.Respond(code == IommufdPageResponseCode.Success ? PageResponseCode.Success : PageResponseCode.InvalidRequest);
    }

    /// <summary>Answers "invalid" every group a HWPT left here (it is being freed).</summary>
    internal void RespondAllOf(IommufdHwpt hwpt)
    {
        List<IopfGroup> dropped = [];
        lock (_lock)
        {
            var keep = new Queue<(IopfGroup, IommufdHwpt)>();
            while (_unread.TryDequeue(out (IopfGroup Group, IommufdHwpt Hwpt) e))
            {
                if (e.Hwpt == hwpt)
                    dropped.Add(e.Group);
                else
                    keep.Enqueue(e);
            }
            foreach ((IopfGroup, IommufdHwpt) e in keep)
                _unread.Enqueue(e);
            foreach ((uint cookie, (IopfGroup Group, IommufdHwpt Hwpt) e) in _awaiting.Where(p => p.Value.Hwpt == hwpt).ToList())
            {
                _awaiting.Remove(cookie);
                dropped.Add(e.Group);
            }
        }
        foreach (IopfGroup group in dropped)
            group.Respond(PageResponseCode.InvalidRequest);
    }

    private uint DeviceIdOf(PciDevice device) =>
        Context.Objects.OfType<IommufdDevice>().FirstOrDefault(d => d.Device == device
            || (d.Device is MediatedDevice m && m.IommuDevice == device))?.Id ?? 0;

    private static IommufdPageFault Record(in PageRequest request, uint devId, uint cookie) => new(
        (request.Pasid.HasValue ? IommufdPageFaultAttributes.PasidValid : 0) | (request.LastInGroup ? IommufdPageFaultAttributes.LastPage : 0),
        devId, request.Pasid ?? 0, (uint)request.GroupIndex,
        (request.Read ? IommufdPageFaultPermissions.Read : 0) | (request.Write ? IommufdPageFaultPermissions.Write : 0)
            | (request.Execute ? IommufdPageFaultPermissions.Execute : 0) | (request.Privileged ? IommufdPageFaultPermissions.Privileged : 0),
        request.Address & ~0xFFFUL, 0x1000, cookie);

    /// <summary>Answers every group "invalid" (the object is destroyed or its context closed).</summary>
    internal override void Release()
    {
        List<IopfGroup> all;
        lock (_lock)
        {
            all = [.. _unread.Select(e => e.Group), .. _awaiting.Values.Select(e => e.Group)];
            _unread.Clear();
            _awaiting.Clear();
        }
        foreach (IopfGroup group in all)
            group.Respond(PageResponseCode.InvalidRequest);
    }
}
