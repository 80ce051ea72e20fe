namespace Siov.Fast.Iommu;

/// <summary>How a domain has been attached, for the SMMUv3 sticky-mode rule (seed 004).</summary>
public enum DomainAttachMode
{
    /// <summary>Never attached.</summary>
    None = 0,

    /// <summary>Attached to a device or group by requester id (primary domain).</summary>
    Normal = 1,

    /// <summary>Attached as an aux domain through a PASID.</summary>
    Aux = 2,

    /// <summary>Both at once (VT-d only).</summary>
    NormalAndAux = Normal | Aux,
}
