using Siov.Fast.Iommu;

namespace Siov.Fast.Iommufd;

/// <summary>A hardware page table (<c>struct iommufd_hw_pagetable</c>): an IOMMU domain devices attach to, paging
/// (<see cref="IommufdHwptPaging"/>) or nested (<see cref="IommufdHwptNested"/>).</summary>
public abstract class IommufdHwpt : IommufdObject
{
    private protected IommufdHwpt(IommufdContext context, uint id, IommuDomain domain) : base(context, id) => Domain = domain;

    /// <summary>The IOMMU domain (owned by the context: the object model's callers cannot change it).</summary>
    public IommuDomain Domain { get; }

    /// <summary>The fault object its I/O page faults go to (<c>IOMMU_HWPT_FAULT_ID_VALID</c>), or null (the kernel answers
    /// them: "invalid", since no handler of its own serves a user HWPT).</summary>
    public IommufdFault? Fault { get; private set; }

    /// <summary>Routes the domain's page faults to <paramref name="fault"/>, which the HWPT then uses.</summary>
    internal void UseFault(IommufdFault fault)
    {
        Fault = fault;
        fault.Users++;
        Domain.IopfHandler = group => fault.Report(group, this);
    }

    /// <summary>Stops routing faults: the groups left are answered "invalid" and the fault object is released.</summary>
    private protected void ReleaseFault()
    {
        if (Fault is not { } fault)
            return;
        Domain.IopfHandler = null;
        fault.RespondAllOf(this);
        fault.Users--;
        Fault = null;
    }

    /// <summary>Made by an attach to an IOAS and destroyed with its last device (paging HWPTs only).</summary>
    public virtual bool IsAuto => false;
}
