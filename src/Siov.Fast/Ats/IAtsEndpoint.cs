namespace Siov.Fast.Ats;

/// <summary>
/// The function side of ATS and PRI as a translation agent (an IOMMU) sees it: where its invalidation request messages
/// and page request group responses go. A device model implements it (or uses <see cref="DeviceTlb"/>, which does) and
/// connects it to the unit for its requester id.
/// </summary>
/// <remarks>Calls come on the thread that wrote the invalidation queue (or that answered an earlier request), with no lock
/// of the unit held: a handler may translate, answer, or write the unit's registers.</remarks>
public interface IAtsEndpoint
{
    /// <summary>
    /// An ATS invalidation request message (PCIe ATS "Invalidate Request"): drop every ATC entry that overlaps the
    /// range for the PASID (or for every PASID), then answer with <see cref="AtsInvalidationRequest.Complete"/>, now or
    /// later. A request never answered makes the unit's invalidation wait time out (VT-d FSTS_REG.ITE; SMMUv3: the
    /// CMD_SYNC fails with CERROR_ATC_INV_SYNC).
    /// </summary>
    /// <param name="request">The request.</param>
    void OnInvalidationRequest(AtsInvalidationRequest request);

    /// <summary>A page request group response (PRI, PCIe "PRG Response"): the host answered the page requests of one
    /// group; on <see cref="PageResponseCode.Success"/> the function retries its translation requests.</summary>
    /// <param name="response">The response.</param>
    void OnPageGroupResponse(PageGroupResponse response);
}
