namespace Siov.Fast;

/// <summary>
/// The attributes a PASID TLP prefix carries besides the PASID (VT-d spec 3.4.4, PCIe PASID prefix): a privileged
/// (supervisor-mode) request, and an execute request. They matter to first-level translation only; second-level
/// translation treats them as plain requests.
/// </summary>
[Flags]
public enum DmaRequestAttributes
{
    /// <summary>A user-mode data request.</summary>
    None = 0,

    /// <summary>PMR: privileged mode requested (a supervisor request; needs SRE in the PASID entry).</summary>
    Privileged = 1,

    /// <summary>ER: execute requested (an instruction fetch; needs ERE in the PASID entry).</summary>
    Execute = 2,
}
