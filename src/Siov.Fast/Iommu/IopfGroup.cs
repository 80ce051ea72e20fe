using Siov.Fast.Ats;

namespace Siov.Fast.Iommu;

/// <summary>
/// One page request group from a function, as the core hands it to the I/O page fault handler of the domain that
/// translates it (the kernel's <c>struct iopf_group</c>): the requests of the group (the last one has LPIG), the device,
/// the PASID and the domain. The handler answers it once with <see cref="Respond"/>, now or later (iommufd passes it to
/// user space and answers when user space does).
/// </summary>
public sealed class IopfGroup
{
    private readonly IIommuDriver _driver;
    private int _responded;

    internal IopfGroup(IIommuDriver driver, PciDevice device, IommuDomain? domain, uint? pasid, int groupIndex, IReadOnlyList<PageRequest> requests)
    {
        _driver = driver;
        Device = device;
        Domain = domain;
        Pasid = pasid;
        GroupIndex = groupIndex;
        Requests = requests;
    }

    /// <summary>The function that sent the requests.</summary>
    public PciDevice Device { get; }

    /// <summary>The domain attached where the requests translate (the PASID's, or the device's for requests without
    /// PASID); null when none is.</summary>
    public IommuDomain? Domain { get; }

    /// <summary>The PASID of the group's requests, or null.</summary>
    public uint? Pasid { get; }

    /// <summary>PRG index, 0-511.</summary>
    public int GroupIndex { get; }

    /// <summary>The requests, the last one (LPIG) last.</summary>
    public IReadOnlyList<PageRequest> Requests { get; }

    /// <summary>The answer given, or null while the group waits for one.</summary>
    public PageResponseCode? Response { get; private set; }

    /// <summary>Answers the group (<c>iopf_group_response</c>): the driver sends a page group response to the function.
    /// Only the first answer counts; later calls do nothing and return false.</summary>
    /// <param name="code">Success (the pages are there: the function retries), invalid request, or response failure.</param>
    /// <returns>True when this call answered the group.</returns>
    /// <exception cref="IommuException">EINVAL for a code that is not one of the three.</exception>
    public bool Respond(PageResponseCode code)
    {
        if (code is not (PageResponseCode.Success or PageResponseCode.InvalidRequest or PageResponseCode.ResponseFailure))
            Throw.Iommu(Errno.EINVAL, $"page response code {(int)code} is none of success (0), invalid (1), failure (15)");
        if (Interlocked.Exchange(ref _responded, 1) != 0)
            return false;
        Response = code;
        _driver.PageResponse(new PageGroupResponse(Device.SourceId, Pasid, GroupIndex, code));
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"page request group {GroupIndex} of {Device.Name}{(Pasid is uint p ? $" PASID {p}" : "")}: {Requests.Count} request(s)";
}
