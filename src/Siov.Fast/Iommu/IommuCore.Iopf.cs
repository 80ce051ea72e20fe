using Siov.Fast.Ats;
using Siov.Fast.Drivers.IntelVtd;
using Siov.Fast.Hardware;

namespace Siov.Fast.Iommu;

/// <summary>I/O page faults (the kernel's <c>io-pgfault.c</c>): page requests the drivers report are gathered into groups
/// and the complete group goes to the I/O page fault handler of the domain that translates it.</summary>
public sealed partial class IommuCore
{
    /// <summary>Requests held for groups whose last request has not come, over every device (older ones are dropped).</summary>
    private const int MaxPartialRequests = 4096;

    // Partial groups by (unit, requester id, PASID, PRG index); under _lock.
    private readonly Dictionary<(IIommuHardware Unit, ushort Rid, uint? Pasid, int Index), List<PageRequest>> _partialGroups = [];
    private int _partialRequests;

    /// <summary>Page request groups that reached no handler (no device, no domain or no handler) and were answered
    /// "invalid request" by the core.</summary>
    public long UnhandledPageRequestGroups => Volatile.Read(ref _unhandledGroups);

    private long _unhandledGroups;

    /// <summary>Page fault handlers that threw; their groups were answered "invalid request" unless they had answered.</summary>
    public long FailedPageFaultHandlers => Volatile.Read(ref _failedHandlers);

    private long _failedHandlers;

    /// <summary>Registers a unit's state: its kernel name (dmar0, dmar1... in registration order) and its page requests.</summary>
    private void RegisterUnit(UnitState state)
    {
        if (state.Driver is IntelIommu intel)
            intel.IommuName = $"dmar{_units.Count}";
        _units.Add(state);
        state.Driver.PageRequestReported += (_, request) => ReportDeviceFault(state, request);
    }

    /// <summary><c>iommu_report_device_fault</c>: holds the request until its group's last one, then hands the group to the
    /// handler of the domain attached where it translates; a group with no handler is answered "invalid request".</summary>
    private void ReportDeviceFault(UnitState state, PageRequest request)
    {
        IopfGroup? group = null;
        Action<IopfGroup>? handler = null;
        lock (_lock)
        {
            var key = (state.Unit, request.RequesterId, request.Pasid, request.GroupIndex);
            if (!_partialGroups.TryGetValue(key, out List<PageRequest>? requests))
            {
                if (_partialRequests >= MaxPartialRequests)
                {
                    _partialGroups.Clear(); // a function that never ends its groups cannot grow this without bound
                    _partialRequests = 0;
                }
                requests = [];
                _partialGroups.Add(key, requests);
            }
            requests.Add(request);
            _partialRequests++;
            if (!request.LastInGroup)
                return;
            _partialGroups.Remove(key);
            _partialRequests -= requests.Count;
            if (FindBySourceId(state, request.RequesterId) is PciDevice device)
            {
                IommuDomain? domain = request.Pasid is uint pasid ? device.PasidDomains.GetValueOrDefault(pasid) : device.Group?.Domain;
                group = new IopfGroup(state.Driver, device, domain, request.Pasid, request.GroupIndex, requests);
                handler = domain?.IopfHandler;
            }
        }
        if (group == null)
        {
            Interlocked.Increment(ref _unhandledGroups);
            state.Driver.PageResponse(new PageGroupResponse(request.RequesterId, request.Pasid, request.GroupIndex, PageResponseCode.InvalidRequest));
            return;
        }
        if (handler == null)
        {
            Interlocked.Increment(ref _unhandledGroups);
            group.Respond(PageResponseCode.InvalidRequest);
            return;
        }
        try
        {
            handler(group);
        }
#pragma warning disable CA1031 // a handler's failure is the device's invalid response, not the driver's drain loop's end
        catch (Exception)
        {
            Interlocked.Increment(ref _failedHandlers);
            group.Respond(PageResponseCode.InvalidRequest); // no-op when the handler answered before it threw
        }
#pragma warning restore CA1031
    }
}
