using Siov.Fast.Ats;
using Siov.Fast.Hardware.Vtd;

namespace Siov.Fast.Drivers.IntelVtd;

/// <summary>
/// The driver's page request queue (Linux's <c>intel_iommu_enable_prq</c>, <c>prq_event_thread</c> and
/// <c>intel_iommu_page_response</c>): a one-page queue at PQA_REG; on the unit's page request event the driver clears
/// PRS_REG.PPR, reads the descriptors from PQH_REG to PQT_REG, logs each as the <c>prq_report</c> trace event prints it,
/// moves PQH_REG, clears PRS_REG.PRO once the queue is empty, and reports each request
/// (<see cref="PageRequestReported"/>); <see cref="PageResponse"/> answers a group with a page group response descriptor.
/// </summary>
public sealed partial class IntelIommu
{
    private const int PageRequestLogCapacity = 256;
    private readonly Lock _prqLock = new();
    private readonly Queue<string> _pageRequestLog = new();
    private ulong _pageRequestQueue;
    private long _prqSequence;

    /// <summary>Raised for every page request read from the unit's queue (<c>iommu_report_device_fault</c>), on the
    /// thread that delivered the page request event, with no lock of the driver held.</summary>
    public event EventHandler<PageRequest>? PageRequestReported;

    /// <summary>The kernel name of the unit in log lines (<c>dmar0</c>, ...); set by the core when it registers the unit.</summary>
    public string IommuName { get; internal set; } = "dmar";

    /// <summary>The last 256 page requests read, as Linux's <c>prq_report</c> trace event prints them:
    /// <c>dmar0/0000:03:00.0 seq# 1: rid=0x300 addr=0x12345 rw--l pasid=0x5 index=0x1</c>; oldest first.</summary>
    public IReadOnlyList<string> PageRequestLog
    {
        get
        {
            lock (_prqLock)
                return [.. _pageRequestLog];
        }
    }

    /// <summary>PQH = PQT = 0, PQA = the queue page with PQS = 0 (128 descriptors), the event unmasked.</summary>
    private void EnablePageRequestQueue(RemappingUnit? unit)
    {
        _registers.Write(VtdRegisters.PageRequestQueueHeadOffset, 8, 0);
        _registers.Write(VtdRegisters.PageRequestQueueAddressOffset, 8, _pageRequestQueue);
        if (unit != null)
            unit.PageRequestEvent += (_, _) => DrainPageRequests();
        _registers.Write(VtdRegisters.PageRequestEventControlOffset, 4, 0);
    }

    /// <summary>
    /// The page request interrupt thread: clears PPR, reads every descriptor from PQH to PQT, moves PQH, clears PRO when
    /// the queue is drained, then reports the requests. Also callable directly (polling).
    /// </summary>
    /// <returns>Requests read.</returns>
    public int DrainPageRequests()
    {
        if (_pageRequestQueue == 0)
            return 0;
        var requests = new List<PageRequest>();
        lock (_prqLock)
        {
            const ulong offsetMask = 0x7FFE0UL, queueBytes = 4096;
            _registers.Write(VtdRegisters.PageRequestStatusOffset, 4, 1); // PPR: write 1 to clear, before reading
            ulong head = _registers.Read(VtdRegisters.PageRequestQueueHeadOffset, 8) & offsetMask;
            ulong tail = _registers.Read(VtdRegisters.PageRequestQueueTailOffset, 8) & offsetMask;
            while (head != tail)
            {
                ulong q0 = _memory.ReadUInt64(_pageRequestQueue + head);
                ulong q1 = _memory.ReadUInt64(_pageRequestQueue + head + 8);
                PageRequest request = PageRequestDescriptor.Decode(q0, q1);
                Log($"{IommuName}/{new PciAddress(0, request.RequesterId)} seq# {++_prqSequence}: {PageRequestDescriptor.Describe(q0, q1)}");
                requests.Add(request);
                head = (head + PageRequestDescriptor.Size) % queueBytes;
            }
            _registers.Write(VtdRegisters.PageRequestQueueHeadOffset, 8, tail);
            if ((_registers.Read(VtdRegisters.PageRequestStatusOffset, 4) & 2) != 0
                && (_registers.Read(VtdRegisters.PageRequestQueueHeadOffset, 8) & offsetMask) == (_registers.Read(VtdRegisters.PageRequestQueueTailOffset, 8) & offsetMask))
            {
                _registers.Write(VtdRegisters.PageRequestStatusOffset, 4, 2);
                Log($"DMAR: {IommuName}: PRQ overflow cleared");
            }
        }
        foreach (PageRequest request in requests)
        {
            // A stop marker (last in group, neither read nor write) needs no response (Linux drops it).
            if (request.LastInGroup && !request.Read && !request.Write)
                continue;
            if (PageRequestReported is { } handler)
                handler(this, request);
            else if (request.LastInGroup)
                PageResponse(new PageGroupResponse(request.RequesterId, request.Pasid, request.GroupIndex, PageResponseCode.InvalidRequest));
        }
        return requests.Count;
    }

    private void Log(string line)
    {
        if (_pageRequestLog.Count == PageRequestLogCapacity)
            _pageRequestLog.Dequeue();
        _pageRequestLog.Enqueue(line);
    }

    /// <summary>
    /// Answers a page request group (<c>intel_iommu_page_response</c>): a page group response descriptor (type 9) with the
    /// response code, requester id, PASID (when the group had one) and PRG index, followed by a wait.
    /// </summary>
    /// <param name="response">The answer.</param>
    /// <exception cref="IommuException">EOPNOTSUPP when the unit takes no page requests (legacy mode, no ECAP_REG.PRS);
    /// EINVAL for a PRG index beyond 511.</exception>
    public void PageResponse(in PageGroupResponse response)
    {
        if (_pageRequestQueue == 0)
            Throw.Iommu(Errno.EOPNOTSUPP, $"{UnitName} takes no page requests (scalable mode and ECAP_REG.PRS are needed)");
        if (response.GroupIndex is < 0 or > 511)
            Throw.Iommu(Errno.EINVAL, $"PRG index {response.GroupIndex} is outside 0-511");
        ulong w0 = Type(InvalidationDescriptors.PageGroupResponse)
            | PageRequestDescriptor.ResponsePasidPresentField.Encode(response.Pasid.HasValue ? 1UL : 0)
            | PageRequestDescriptor.ResponseCodeField.Encode((ulong)response.Code)
            | PageRequestDescriptor.ResponseRequesterIdField.Encode(response.RequesterId)
            | PageRequestDescriptor.ResponsePasidField.Encode(response.Pasid ?? 0);
        ulong w1 = PageRequestDescriptor.ResponseLastInGroupField.Encode(1) | PageRequestDescriptor.ResponseGroupIndexField.Encode((ulong)response.GroupIndex);
        lock (_lock)
            Submit([(w0, w1)]);
    }
}
