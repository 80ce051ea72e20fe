using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc.Testing;
using Siov.Fast.Api.Tests.Durability;

namespace Siov.Fast.Api.Tests.Mdevctl;

/// <summary>
/// <c>/mdev/definitions</c> against mdevctl's model: define, undefine, modify, start, stop, list, and mdevctl's JSON
/// both ways. The oracle for the JSON is mdevctl's documented shape written out here (its README's vfio_ap example).
/// </summary>
public sealed class MdevDefinitionsApiTests : ApiTestHost
{
    private const string Wq = "11111111-0000-0000-0000-00000000000a";
    private const string Gpu = "11111111-0000-0000-0000-00000000000b";
    private const string Ap = "783e6dbb-ea0e-411f-94e2-717eaad438bf";

    /// <summary>What <c>mdevctl list --defined --dumpjson</c> prints for three definitions (one on a non-PCI parent).</summary>
    private const string DumpJson = $$"""
        [
          { "0000:01:00.0": [ { "{{Wq}}": { "mdev_type": "idxd-wq", "start": "auto", "attrs": [ { "wq_size": "64" }, { "wq_size": "32" } ] } } ] },
          { "0000:04:00.0": [ { "{{Gpu}}": { "mdev_type": "nvidia-63", "start": "manual", "attrs": [] } } ] },
          { "matrix": [ { "{{Ap}}": { "mdev_type": "vfio_ap-passthrough", "start": "manual",
              "attrs": [ { "assign_adapter": "5" }, { "assign_domain": "0xab" } ] } } ] }
        ]
        """;

    [Fact]
    public async Task Define_start_modify_stop_undefine_as_mdevctl_does()
    {
        JsonElement defined = await ReadJsonAsync(await PostAsync("/mdev/definitions",
            $$"""{"uuid":"{{Wq}}","parent":"01:00.0","mdev_type":"idxd-wq","attrs":[{"wq_size":"64"}]}"""), HttpStatusCode.Created);
        Assert.Equal(("0000:01:00.0", "manual", false), (defined.GetProperty("parent").GetString(), defined.GetProperty("start").GetString(), defined.GetProperty("active").GetBoolean()));
        Assert.Empty((await GetJsonAsync("/mdevs")).EnumerateArray()); // defined is not running

        JsonElement started = await ReadJsonAsync(await PostAsync($"/mdev/definitions/{Wq}/start"));
        Assert.Equal("0000:01:00.0", started.GetProperty("iommu_device").GetString());
        Assert.True((await GetJsonAsync($"/mdev/definitions/{Wq}")).GetProperty("active").GetBoolean());
        await ReadProblemAsync(await PostAsync($"/mdev/definitions/{Wq}/start"), HttpStatusCode.Conflict, "EEXIST", Wq);

        // A change takes effect at the next start: the running mdev keeps its type.
        using (HttpResponseMessage modified = await Client.PatchAsync(new Uri($"/mdev/definitions/{Wq}", UriKind.Relative), Json("""{"start":"auto"}""")))
            Assert.Equal("auto", (await ReadJsonAsync(modified)).GetProperty("start").GetString());
        Assert.Equal("64", (await GetJsonAsync($"/mdev/definitions/{Wq}")).GetProperty("attrs")[0].GetProperty("wq_size").GetString());

        using (HttpResponseMessage stopped = await PostAsync($"/mdev/definitions/{Wq}/stop"))
            Assert.Equal(HttpStatusCode.NoContent, stopped.StatusCode);
        await ReadProblemAsync(await PostAsync($"/mdev/definitions/{Wq}/stop"), HttpStatusCode.NotFound, "ENOENT");
        using (HttpResponseMessage undefined = await DeleteAsync($"/mdev/definitions/{Wq}"))
            Assert.Equal(HttpStatusCode.NoContent, undefined.StatusCode);
        await ReadProblemAsync(await DeleteAsync($"/mdev/definitions/{Wq}"), HttpStatusCode.NotFound, "ENOENT", Wq);

        // mdevctl define -u UUID: a running (transient) mdev becomes defined as it is.
        await ReadJsonAsync(await PostAsync("/mdevs", $$"""{"parent":"04:00.0","type":"nvidia-63","uuid":"{{Gpu}}"}"""), HttpStatusCode.Created);
        JsonElement promoted = await ReadJsonAsync(await PostAsync("/mdev/definitions", $$"""{"uuid":"{{Gpu}}"}"""), HttpStatusCode.Created);
        Assert.Equal(("0000:04:00.0", "nvidia-63", true), (promoted.GetProperty("parent").GetString(), promoted.GetProperty("mdev_type").GetString(), promoted.GetProperty("active").GetBoolean()));
    }

    [Fact]
    public async Task Import_then_export_gives_mdevctl_json_back()
    {
        JsonElement imported = await ReadJsonAsync(await PostAsync("/mdev/definitions/import", DumpJson));
        Assert.Equal(3, imported.GetProperty("defined").GetInt32());
        string exported = await ReadBodyAsync(await GetAsync("/mdev/definitions/export"));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(DumpJson), JsonNode.Parse(exported)), exported);

        // One device's config, as mdevctl list -d -u UUID --dumpjson prints it; and define from such a file.
        string config = await ReadBodyAsync(await GetAsync($"/mdev/definitions/{Ap}?format=mdevctl"));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(DumpJson)![2]!["matrix"]![0]![Ap], JsonNode.Parse(config)), config);
        const string Copy = "22222222-0000-0000-0000-00000000000c";
        await ReadJsonAsync(await PostAsync($"/mdev/definitions/import?parent=matrix&uuid={Copy}", config));
        Assert.Equal(4, (await GetJsonAsync("/mdev/definitions")).GetArrayLength());
        // A non-PCI parent can be defined (mdevctl allows vfio_ap's "matrix") but not started here.
        await ReadProblemAsync(await PostAsync($"/mdev/definitions/{Ap}/start"), HttpStatusCode.Conflict, "ENODEV", "matrix");
    }

    [Fact]
    public async Task Import_is_all_or_nothing()
    {
        await ReadJsonAsync(await PostAsync("/mdev/definitions", $$"""{"uuid":"{{Gpu}}","parent":"04:00.0","mdev_type":"nvidia-63"}"""), HttpStatusCode.Created);
        await ReadProblemAsync(await PostAsync("/mdev/definitions/import", DumpJson), HttpStatusCode.Conflict, "EEXIST", Gpu);
        Assert.Equal(1, (await GetJsonAsync("/mdev/definitions")).GetArrayLength());
    }

    [Theory]
    [InlineData("""{"parent":"01:00.0","mdev_type":"idxd-wq","start":"sometimes"}""", "'sometimes', expected auto or manual")]
    [InlineData("""{"parent":"01:00.0"}""", "both 'parent' and 'mdev_type'")]
    [InlineData("""{"uuid":"nope","parent":"01:00.0","mdev_type":"idxd-wq"}""", "'nope' is not a UUID")]
    [InlineData("""{"parent":"01:00.0","mdev_type":"idxd-wq","attrs":[{"a":"1","b":"2"}]}""", "attrs[0] must be one {NAME: VALUE}")]
    [InlineData("""{"parent":"01:00.0","mdev_type":"idxd-wq","attrs":[{"bad name":"1"}]}""", "is not an attribute name")]
    [InlineData("""{"parent":"01:00.0","mdev_type":"idxd-wq","attrs":[{"a":5}]}""", "must be a string")]
    [InlineData("""{"parent":"bad parent!","mdev_type":"idxd-wq"}""", "is not a parent device name")]
    public async Task Malformed_definitions_are_refused_by_name(string body, string fragment)
    {
        await ReadProblemAsync(await PostAsync("/mdev/definitions", body), HttpStatusCode.BadRequest, "EINVAL", fragment);
        Assert.Empty((await GetJsonAsync("/mdev/definitions")).EnumerateArray());
    }

    [Theory]
    [InlineData("""[{"0000:01:00.0":[{"11111111-0000-0000-0000-000000000001":{"mdev_type":"idxd-wq","strat":"auto"}}]}]""", "unknown field 'strat'")]
    [InlineData("""[{"0000:01:00.0":[{"not-a-uuid":{"mdev_type":"idxd-wq"}}]}]""", "'not-a-uuid' is not a UUID")]
    [InlineData("""[{"0000:01:00.0":[{"11111111-0000-0000-0000-000000000001":{"start":"auto"}}]}]""", "mdev_type is missing")]
    [InlineData("""[{"0000:01:00.0":{"x":1}}]""", "must be a list of {UUID: CONFIG}")]
    [InlineData("""{"mdev_type":"idxd-wq"}""", "needs 'parent' and 'uuid'")]
    [InlineData("17", "the body must be mdevctl's JSON")]
    public async Task Malformed_mdevctl_json_is_refused_by_name(string body, string fragment)
    {
        await ReadProblemAsync(await PostAsync("/mdev/definitions/import", body), HttpStatusCode.BadRequest, "EINVAL", fragment);
        Assert.Empty((await GetJsonAsync("/mdev/definitions")).EnumerateArray());
    }

    [Fact]
    public async Task Counts_are_bounded_before_work()
    {
        string attrs = string.Join(",", Enumerable.Range(0, 65).Select(i => $$"""{"a{{i}}":"v"}"""));
        await ReadProblemAsync(await PostAsync("/mdev/definitions", $$"""{"parent":"01:00.0","mdev_type":"idxd-wq","attrs":[{{attrs}}]}"""),
            HttpStatusCode.BadRequest, "EINVAL", "65 entries; at most 64");
        // The body limit comes first (64 KiB); under it, the definition limit counts before anything is defined.
        string many = "[" + string.Join(",", Enumerable.Range(0, 1025).Select(i =>
            "{\"p\":[{\"" + new Guid(i, 0, 0, new byte[8]) + "\":{\"mdev_type\":\"t\"}}]}")) + "]";
        await ReadProblemAsync(await PostAsync("/mdev/definitions/import", many), HttpStatusCode.RequestEntityTooLarge, "E2BIG", "at most 65536 bytes");
        using WebApplicationFactory<Program> small = Factory.WithWebHostBuilder(b => b.UseSetting("Siov:Limits:MaxMdevDefinitions", "2"));
        using HttpClient client = small.CreateClient();
        using HttpResponseMessage refused = await client.PostAsync(new Uri("/mdev/definitions/import", UriKind.Relative), Json(DumpJson));
        await ReadProblemAsync(refused, HttpStatusCode.RequestEntityTooLarge, "E2BIG", "more than 2 mdev definitions");
        Assert.Equal("[]", await client.GetStringAsync(new Uri("/mdev/definitions", UriKind.Relative)));
        using HttpResponseMessage first = await client.PostAsync(new Uri("/mdev/definitions", UriKind.Relative), Json("""{"parent":"01:00.0","mdev_type":"idxd-wq"}"""));
        using HttpResponseMessage second = await client.PostAsync(new Uri("/mdev/definitions", UriKind.Relative), Json("""{"parent":"01:00.0","mdev_type":"idxd-wq"}"""));
        using HttpResponseMessage third = await client.PostAsync(new Uri("/mdev/definitions", UriKind.Relative), Json("""{"parent":"01:00.0","mdev_type":"idxd-wq"}"""));
        await ReadProblemAsync(third, HttpStatusCode.Conflict, "ENOSPC", "MaxMdevDefinitions");
    }

    [Fact]
    public async Task Definitions_survive_a_restart_and_auto_ones_start_with_the_server()
    {
        string directory = Path.Combine(Path.GetTempPath(), "siov-mdevctl-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (WebApplicationFactory<Program> first = RestartTests.Server(directory))
            {
                using HttpClient client = first.CreateClient();
                using HttpResponseMessage imported = await client.PostAsync(new Uri("/mdev/definitions/import", UriKind.Relative), new StringContent(DumpJson, Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.OK, imported.StatusCode);
                Assert.Equal("[]", await client.GetStringAsync(new Uri("/mdevs", UriKind.Relative))); // auto starts at server start, not at define
            }
            for (int restart = 0; restart < 2; restart++)
            {
                using WebApplicationFactory<Program> next = RestartTests.Server(directory);
                using HttpClient client = next.CreateClient();
                string exported = await client.GetStringAsync(new Uri("/mdev/definitions/export", UriKind.Relative));
                Assert.True(JsonNode.DeepEquals(JsonNode.Parse(DumpJson), JsonNode.Parse(exported)), exported);
                using JsonDocument running = JsonDocument.Parse(await client.GetStringAsync(new Uri("/mdevs", UriKind.Relative)));
                Assert.Equal([Wq], running.RootElement.EnumerateArray().Select(m => m.GetProperty("uuid").GetString()));
                // Stopped by hand: the next start of the server starts it again, as a boot does with mdevctl.
                using HttpResponseMessage stopped = await client.PostAsync(new Uri($"/mdev/definitions/{Wq}/stop", UriKind.Relative), null);
                Assert.Equal(HttpStatusCode.NoContent, stopped.StatusCode);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        }
    }
}
