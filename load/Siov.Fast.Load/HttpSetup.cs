using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Siov.Fast.Workloads;

namespace Siov.Fast.Load;

/// <summary>
/// Sets a workload up on the admin server over its HTTP API, as a user would: for each of the workload's
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

    public static void Ensure(HttpClient client, StandardWorkload workload)
    {
        JsonElement device = Get(client, "devices/" + Device);
        int group = device.GetProperty("group").GetInt32();
        int? current = device.TryGetProperty("domain", out JsonElement d) ? d.GetInt32() : null;
        int? defaultDomain = Get(client, $"groups/{group}").TryGetProperty("default_domain", out JsonElement dd) ? dd.GetInt32() : null;
        bool ready = workload.UsesPasid
            ? device.GetProperty("pasids").EnumerateArray().Any(p => p.GetProperty("pasid").GetUInt32() == 1)
            : current != defaultDomain;
        if (ready)
        {
            Console.Error.WriteLine($"http set-up: {Device} is attached already; assuming an earlier run set {workload.Name} up");
            return;
        }
        for (int domain = 0; domain < workload.Domains; domain++)
        {
            int id = Send(client, HttpMethod.Post, "domains", new { type = "UNMANAGED" }).GetProperty("id").GetInt32();
            for (int first = 0; first < workload.PagesPerDomain; first += MapBatch)
            {
                var mappings = Enumerable.Range(first, Math.Min(MapBatch, workload.PagesPerDomain - first)).Select(i => new
                {
                    iova = Hex(workload.IovaOf(i)),
                    hpa = Hex(workload.HpaOf(domain, i)),
                    size = Hex(workload.PageSize),
                    prot = "rw",
                });
                Send(client, HttpMethod.Post, $"domains/{id}/mappings/batch", new { mappings });
            }
            object attach = workload.PasidOf(domain) is uint pasid ? new { device = Device, pasid } : new { device = Device };
            Send(client, HttpMethod.Post, $"domains/{id}/attachments", attach);
        }
        Console.Error.WriteLine($"http set-up: {workload.Domains} domain(s) of {workload.PagesPerDomain} pages attached to {Device}");
    }

    private static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private static JsonElement Get(HttpClient client, string path) => Send(client, HttpMethod.Get, path, null);

    private static JsonElement Send(HttpClient client, HttpMethod method, string path, object? body)
    {
        using var message = new HttpRequestMessage(method, path) { Content = body == null ? null : JsonContent.Create(body) };
        HttpResponseMessage response;
        try
        {
            response = client.Send(message);
        }
        catch (HttpRequestException e)
        {
            throw new LoadException($"http set-up: cannot reach {client.BaseAddress}: {e.Message} (start the admin server)");
        }
        using (response)
        {
            string text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            if (response.StatusCode == HttpStatusCode.NotFound && path.StartsWith("devices", StringComparison.Ordinal))
                throw new LoadException($"http set-up: the server has no device {Device} (start it on its default platform)");
            if (!response.IsSuccessStatusCode)
                throw new LoadException($"http set-up: {method} /{path} answered {(int)response.StatusCode}: {text}");
            return JsonDocument.Parse(text).RootElement.Clone();
        }
    }
}
