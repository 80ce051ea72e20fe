namespace Siov.Fast.Client;

/// <summary>An iommu group (<c>GET /groups/{id}</c>).</summary>
/// <param name="Id">Its id.</param>
/// <param name="Devices">Its member devices.</param>
/// <param name="Domain">The domain it is attached to, if any.</param>
/// <param name="DefaultDomain">Its default domain, if any.</param>
/// <param name="AuxParent">For an mdev group, the parent whose aux domain it uses.</param>
/// <param name="InContainer">Whether a VFIO container holds it.</param>
public sealed record GroupInfo(int Id, IReadOnlyList<string> Devices, int? Domain, int? DefaultDomain, string? AuxParent, bool InContainer);
