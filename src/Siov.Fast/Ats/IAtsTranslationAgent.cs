namespace Siov.Fast.Ats;

/// <summary>
/// A translation agent as a function's ATC and PRI see it (an IOMMU: a VT-d remapping unit or an Arm SMMUv3): it answers translation
/// requests, sends invalidation requests and page group responses to the functions connected to it, and takes their
/// page requests.
/// </summary>
public interface IAtsTranslationAgent
{
    /// <summary>Answers a translation request (see <c>RemappingUnit.TranslateForAts</c> for VT-d's rules,
    /// <c>Smmu.TranslateForAts</c> for SMMUv3's).</summary>
    /// <param name="request">Requester id, PASID, untranslated address, access (Read alone asks for read only) and attributes.</param>
    /// <returns>The translation completion.</returns>
    AtsCompletion TranslateForAts(in DmaRequest request);

    /// <summary>Takes a DMA request: untranslated requests are translated, translated ones
    /// (<see cref="DmaRequest.Translated"/>) are checked against the function's permission to use ATS.</summary>
    /// <param name="request">The request.</param>
    /// <returns>The HPA or the fault; never throws.</returns>
    TranslationResult Translate(in DmaRequest request);

    /// <summary>Connects a function's endpoint: invalidation requests and page group responses for
    /// <paramref name="requesterId"/> go to it from now on.</summary>
    /// <param name="requesterId">The function's requester id.</param>
    /// <param name="endpoint">Its endpoint.</param>
    /// <exception cref="IommuException">EEXIST when another endpoint is connected for the requester id.</exception>
    void ConnectAtsEndpoint(ushort requesterId, IAtsEndpoint endpoint);

    /// <summary>Disconnects the endpoint of a requester id (a function that goes away); invalidation requests still
    /// outstanding for it count as answered. Nothing happens when none is connected.</summary>
    /// <param name="requesterId">The function's requester id.</param>
    void DisconnectAtsEndpoint(ushort requesterId);

    /// <summary>Takes a page request from a function (PCIe PRI). The agent queues it for the host, or answers it itself
    /// when it cannot; the host's page group response comes later through <see cref="IAtsEndpoint.OnPageGroupResponse"/>.</summary>
    /// <param name="request">The page request.</param>
    void SendPageRequest(in PageRequest request);
}
