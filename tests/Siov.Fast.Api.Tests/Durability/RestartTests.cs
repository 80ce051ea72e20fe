using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Siov.Fast.Api.Durability;

namespace Siov.Fast.Api.Tests.Durability;

/// <summary>
/// A server restarted on its state directory is the server it was: every domain, mapping, attachment (normal, aux,
/// PASID), mdev (with a generated UUID), container and feature, with the same ids. The oracle is the server's own
/// answers before the restart; the same session on an ephemeral restart must differ, so the check can fail.
/// </summary>
public sealed class RestartTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "siov-state-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    internal static WebApplicationFactory<Program> Server(string directory, params (string Key, string Value)[] settings) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseEnvironment("Production");
            b.UseSetting("state-dir", directory);
            foreach ((string key, string value) in settings)
                b.UseSetting(key, value);
        });

    [Fact]
    public async Task A_restarted_server_answers_as_before()
    {
        string before;
        using (WebApplicationFactory<Program> first = Server(_directory))
        {
            using HttpClient client = first.CreateClient();
            await RunSessionAsync(client);
            before = await SnapshotAsync(client);
        }
        using (WebApplicationFactory<Program> second = Server(_directory))
        {
            using HttpClient client = second.CreateClient();
            Assert.Equal(before, await SnapshotAsync(client));
            // And it goes on from there: the next domain gets the next id, not one the restored state holds.
            JsonElement next = await SendAsync(client, HttpMethod.Post, "/domains", """{"type":"UNMANAGED"}""", HttpStatusCode.Created);
            Assert.Equal(14, next.GetProperty("id").GetInt32()); // 12 is the iommufd auto domain, 13 the HWPT with a fault object
        }
        using (WebApplicationFactory<Program> ephemeral = Server(_directory, ("Siov:State:Ephemeral", "true")))
        {
            using HttpClient client = ephemeral.CreateClient();
            Assert.NotEqual(before, await SnapshotAsync(client)); // without the journal the check fails
        }
    }

    [Fact]
    public void Every_mutating_endpoint_is_journalled_or_exempt_and_every_journalled_one_replays()
    {
        using WebApplicationFactory<Program> server = Server(_directory, ("Siov:State:Ephemeral", "true"));
        using HttpClient client = server.CreateClient();
        var journalled = new List<string>();
        foreach (RouteEndpoint endpoint in server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            string[] methods = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods.ToArray() ?? [];
            if (methods.All(m => m is "GET" or "HEAD"))
                continue;
            string name = endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? endpoint.RoutePattern.RawText!;
            if (name == "TranslateBatch")
                continue; // a POST that changes nothing
            JournalMetadata? journal = endpoint.Metadata.GetMetadata<JournalMetadata>();
            Assert.True(journal != null, $"{string.Join(",", methods)} {endpoint.RoutePattern.RawText} ({name}) is neither journalled nor exempt");
            if (journal.IsJournaled)
                journalled.Add(name);
        }
        Assert.Equal(journalled.Order(), JournalReplay.Operations.Order());
    }

    /// <summary>Calls of every journalled kind, with failures between them (they must replay as failures).</summary>
    internal static async Task RunSessionAsync(HttpClient client)
    {
        // Domains 1-7 are the default domains of the platform's groups; 8 and 9 are ours, 10 is created and freed.
        Assert.Equal(8, (await SendAsync(client, HttpMethod.Post, "/domains", """{"type":"UNMANAGED"}""", HttpStatusCode.Created)).GetProperty("id").GetInt32());
        Assert.Equal(9, (await SendAsync(client, HttpMethod.Post, "/domains", """{"type":"UNMANAGED"}""", HttpStatusCode.Created)).GetProperty("id").GetInt32());
        await SendAsync(client, HttpMethod.Post, "/domains", """{"type":"UNMANAGED"}""", HttpStatusCode.Created);
        await SendAsync(client, HttpMethod.Delete, "/domains/10", null, HttpStatusCode.NoContent);
        await SendAsync(client, HttpMethod.Post, "/domains", """{"type":"NOPE"}""", HttpStatusCode.BadRequest);
        await SendAsync(client, HttpMethod.Post, "/domains/8/mappings", """{"iova":"0x100000","hpa":"0x4000000","size":"0x201000","prot":"rw"}""", HttpStatusCode.Created);
        await SendAsync(client, HttpMethod.Post, "/domains/8/mappings", """{"iova":"0x100000","hpa":"0x5000000","size":"0x1000"}""", HttpStatusCode.Conflict);
        await SendAsync(client, HttpMethod.Post, "/domains/8/mappings/batch",
            """{"mappings":[{"iova":"0x40000000","hpa":"0x8000000","size":"0x1000","prot":"r"},{"iova":"0x40200000","hpa":"0x8200000","size":"0x200000"}]}""", HttpStatusCode.OK);
        await SendAsync(client, HttpMethod.Delete, "/domains/8/mappings?iova=0x300000&size=0x1000", null, HttpStatusCode.OK);
        await SendAsync(client, HttpMethod.Post, "/devices/01:00.0/features/aux", null, HttpStatusCode.OK);
        JsonElement mdev = await SendAsync(client, HttpMethod.Post, "/mdevs", """{"parent":"01:00.0","type":"idxd-wq"}""", HttpStatusCode.Created);
        await SendAsync(client, HttpMethod.Post, "/mdevs", """{"parent":"01:00.0","type":"idxd-wq","uuid":"11111111-0000-0000-0000-000000000001"}""", HttpStatusCode.Created);
        await SendAsync(client, HttpMethod.Delete, "/mdevs/11111111-0000-0000-0000-000000000001", null, HttpStatusCode.NoContent);
        await SendAsync(client, HttpMethod.Post, "/domains/9/attachments", """{"device":"01:00.0","aux":true}""", HttpStatusCode.OK);
        await SendAsync(client, HttpMethod.Post, "/domains/9/mappings", """{"iova":"0x0","hpa":"0x9000000","size":"0x10000"}""", HttpStatusCode.Created);
        int container = (await SendAsync(client, HttpMethod.Post, "/containers", null, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        await SendAsync(client, HttpMethod.Post, $"/containers/{container}/groups", $$"""{"group":{{mdev.GetProperty("group").GetInt32()}}}""", HttpStatusCode.OK);
        await SendAsync(client, HttpMethod.Post, $"/containers/{container}/dma", """{"iova":"0x10000","hpa":"0xA000000","size":"0x2000"}""", HttpStatusCode.Created);
        await SendAsync(client, HttpMethod.Post, $"/containers/{container}/dma", """{"iova":"0x12000","hpa":"0xA002000","size":"0x2000"}""", HttpStatusCode.Created);
        await SendAsync(client, HttpMethod.Delete, $"/containers/{container}/dma?iova=0x12000&size=0x2000", null, HttpStatusCode.OK);
        int closed = (await SendAsync(client, HttpMethod.Post, "/containers", null, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        await SendAsync(client, HttpMethod.Delete, $"/containers/{closed}", null, HttpStatusCode.NoContent);
        await SendAsync(client, HttpMethod.Post, "/domains/9/attachments", """{"group":1}""", HttpStatusCode.OK);
        await SendAsync(client, HttpMethod.Delete, "/domains/9/attachments?group=1", null, HttpStatusCode.NoContent);
        await SendAsync(client, HttpMethod.Post, "/domains/8/attachments", """{"device":"01:00.0","pasid":77}""", HttpStatusCode.OK);
        await SendAsync(client, HttpMethod.Post, "/sanitizer", null, HttpStatusCode.OK);
        // iommufd: a context, an IOAS mapped at an IOVA it chooses, a device of group 5 attached through an auto HWPT.
        int ctx = (await SendAsync(client, HttpMethod.Post, "/iommufd", null, HttpStatusCode.Created)).GetProperty("id").GetInt32();
        uint ioas = (await SendAsync(client, HttpMethod.Post, $"/iommufd/{ctx}/ioas", null, HttpStatusCode.Created)).GetProperty("id").GetUInt32();
        await SendAsync(client, HttpMethod.Post, $"/iommufd/{ctx}/ioas/{ioas}/map", """{"hpa":"0xB000000","length":"0x3000"}""", HttpStatusCode.OK);
        await SendAsync(client, HttpMethod.Post, $"/iommufd/{ctx}/ioas/{ioas}/unmap", """{"iova":"0x2000","length":"0x1000"}""", HttpStatusCode.NotFound);
        uint dev = (await SendAsync(client, HttpMethod.Post, $"/iommufd/{ctx}/devices", """{"device":"03:00.0"}""", HttpStatusCode.Created)).GetProperty("id").GetUInt32();
        await SendAsync(client, HttpMethod.Post, $"/iommufd/{ctx}/devices/{dev}/attach", $$"""{"pt_id":{{ioas}}}""", HttpStatusCode.OK);
        uint fault = (await SendAsync(client, HttpMethod.Post, $"/iommufd/{ctx}/faults", null, HttpStatusCode.Created)).GetProperty("id").GetUInt32();
        await SendAsync(client, HttpMethod.Post, $"/iommufd/{ctx}/hwpts", $$"""{"dev_id":{{dev}},"pt_id":{{ioas}},"fault_id":{{fault}}}""", HttpStatusCode.Created);
    }

    /// <summary>Everything the server answers about its object model, in one string.</summary>
    internal static async Task<string> SnapshotAsync(HttpClient client)
    {
        var snapshot = new StringBuilder();
        foreach (string path in new[] { "/domains", "/groups", "/devices", "/mdevs", "/mdev/types", "/containers", "/iommufd" })
            snapshot.AppendLine(path).AppendLine(await client.GetStringAsync(new Uri(path, UriKind.Relative)));
        using JsonDocument domains = JsonDocument.Parse(await client.GetStringAsync(new Uri("/domains", UriKind.Relative)));
        foreach (JsonElement domain in domains.RootElement.EnumerateArray())
        {
            int id = domain.GetProperty("id").GetInt32();
            foreach (string part in new[] { "mappings", "attachments" })
                snapshot.AppendLine(await client.GetStringAsync(new Uri($"/domains/{id}/{part}", UriKind.Relative)));
        }
        using JsonDocument containers = JsonDocument.Parse(await client.GetStringAsync(new Uri("/containers", UriKind.Relative)));
        foreach (JsonElement container in containers.RootElement.EnumerateArray())
            snapshot.AppendLine(await client.GetStringAsync(new Uri($"/containers/{container.GetProperty("id").GetInt32()}", UriKind.Relative)));
        using JsonDocument contexts = JsonDocument.Parse(await client.GetStringAsync(new Uri("/iommufd", UriKind.Relative)));
        foreach (JsonElement context in contexts.RootElement.EnumerateArray())
            snapshot.AppendLine(await client.GetStringAsync(new Uri($"/iommufd/{context.GetProperty("id").GetInt32()}", UriKind.Relative)));
        using JsonDocument sanitizer = JsonDocument.Parse(await client.GetStringAsync(new Uri("/sanitizer", UriKind.Relative)));
        snapshot.AppendLine(string.Join(",", sanitizer.RootElement.EnumerateArray().Select(u => u.GetProperty("enabled").GetBoolean())));
        return snapshot.ToString();
    }

    internal static async Task<JsonElement> SendAsync(HttpClient client, HttpMethod method, string path, string? json, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (json != null)
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await client.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{method} {path}: expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
    }
}
