using Siov.Fast.Client;
using Siov.Fast.Workloads;

namespace Siov.Fast.Load;

/// <summary>
/// Sets a workload up on the admin server over its HTTP API with the typed client (<see cref="SiovClient"/>), as a user would: for each of the workload's
/// D domains, <c>POST /domains</c> (UNMANAGED), its N mappings through <c>POST /domains/{id}/mappings/batch</c>,
/// then the attach of requester 01:00.0: normally when D = 1 (requests without PASID go through RID_PASID),
/// at PASID d + 1 (<c>{"device", "pasid"}</c>) when D &gt; 1.
/// </summary>
/// <remarks>A server whose 01:00.0 is already attached to a non-default domain (D = 1) or at PASID 1 (D &gt; 1)
/// is taken as set up by an earlier run; the checksum then tells whether its mappings are the workload's.</remarks>
internal static class HttpSetup
{
    private const string Device = "01:00.0";
    private const int MapBatch = 65536;

    public static void Ensure(SiovClient siov, StandardWorkload workload) => Call(siov, () => EnsureAsync(siov, workload));

    private static async Task<bool> EnsureAsync(SiovClient siov, StandardWorkload workload)
    {
        DeviceInfo device = await siov.GetDeviceAsync(Device).ConfigureAwait(false);
        int? defaultDomain = device.Group is int group ? (await siov.GetGroupAsync(group).ConfigureAwait(false)).DefaultDomain : null;
        bool ready = workload.UsesPasid ? device.Pasids.Any(p => p.Pasid == 1) : device.Domain != defaultDomain;
        if (ready)
        {
            Console.Error.WriteLine($"http set-up: {Device} is attached already; assuming an earlier run set {workload.Name} up");
            return true;
        }
        for (int domain = 0; domain < workload.Domains; domain++)
        {
            int id = (await siov.CreateDomainAsync("UNMANAGED").ConfigureAwait(false)).Id;
            for (int first = 0; first < workload.PagesPerDomain; first += MapBatch)
            {
                int d = domain;
                IEnumerable<Mapping> mappings = Enumerable.Range(first, Math.Min(MapBatch, workload.PagesPerDomain - first))
                    .Select(i => Mapping.Of(workload.IovaOf(i), workload.HpaOf(d, i), workload.PageSize));
                await siov.MapBatchAsync(id, mappings).ConfigureAwait(false);
            }
            await siov.AttachAsync(id, new AttachRequest(Device, Pasid: workload.PasidOf(domain))).ConfigureAwait(false);
        }
        Console.Error.WriteLine($"http set-up: {workload.Domains} domain(s) of {workload.PagesPerDomain} pages attached to {Device}");
        return true;
    }

    /// <summary>Runs the set-up (before any worker starts: blocking here is harmless) and words its failures for the user.</summary>
    private static void Call(SiovClient siov, Func<Task<bool>> setup)
    {
        try
        {
            setup().GetAwaiter().GetResult();
        }
        catch (HttpRequestException e)
        {
            throw new LoadException($"http set-up: cannot reach {siov.BaseAddress}: {e.Message} (start the admin server)");
        }
        catch (SiovApiException e) when (e.Status == 404 && e.Detail.Contains(Device, StringComparison.Ordinal))
        {
            throw new LoadException($"http set-up: the server has no device {Device} (start it on its default platform)");
        }
        catch (SiovApiException e)
        {
            throw new LoadException($"http set-up: the server answered {e.Message}");
        }
    }
}
