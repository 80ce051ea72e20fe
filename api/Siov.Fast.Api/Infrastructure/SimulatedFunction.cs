using Siov.Fast.Ats;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>
/// The ATS/PRI endpoint of a PCI function the admin server drives (its page requests come from <c>POST
/// /devices/{bdf}/page-requests</c>): it keeps the last 256 page group responses it received for <c>GET
/// /devices/{bdf}/page-responses</c>, and answers invalidation requests at once (it has no ATC of its own).
/// </summary>
internal sealed class SimulatedFunction : IAtsEndpoint
{
    private const int Capacity = 256;
    private readonly Queue<PageGroupResponse> _responses = new();

    /// <summary>The responses received, oldest first.</summary>
    public PageGroupResponse[] Responses
    {
        get
        {
            lock (_responses)
                return [.. _responses];
        }
    }

    public void OnInvalidationRequest(AtsInvalidationRequest request) => request.Complete();

    public void OnPageGroupResponse(PageGroupResponse response)
    {
        lock (_responses)
        {
            if (_responses.Count == Capacity)
                _responses.Dequeue();
            _responses.Enqueue(response);
        }
    }
}
