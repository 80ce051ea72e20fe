using System.Net;
using System.Text.Json;

namespace Siov.Fast.Api.Tests;

/// <summary><c>/healthz</c>, <c>/platform</c>, <c>/devices</c>, <c>/groups</c>, the aux feature, and routing misses.</summary>
public sealed class PlatformApiTests : ApiTestHost
{
    [Fact]
    public async Task Healthz_Answers200Ok()
    {
        JsonElement health = await GetJsonAsync("/healthz");
        Assert.Equal("ok", health.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Platform_DefaultHasTwoScalableUnits()
    {
        JsonElement platform = await GetJsonAsync("/platform");
        Assert.Equal("siov-demo", platform.GetProperty("name").GetString());
        JsonElement[] units = [.. platform.GetProperty("units").EnumerateArray()];
        Assert.Equal(["dmar0", "dmar1"], units.Select(u => u.GetProperty("name").GetString()));
        Assert.All(units, u => Assert.Equal("scalable", u.GetProperty("mode").GetString()));
        Assert.Equal("0xfed90000", units[0].GetProperty("register_base").GetString());
        Assert.StartsWith("0x", units[0].GetProperty("cap").GetString(), StringComparison.Ordinal);
        Assert.True(platform.GetProperty("free_frames").GetInt32() > 0);
    }

    [Fact]
    public async Task Devices_ListsTheDefaultPlatform()
    {
        JsonElement devices = await GetJsonAsync("/devices");
        string[] names = [.. devices.EnumerateArray().Select(d => d.GetProperty("bdf").GetString()!)];
        Assert.Equal(new[] { "0000:00:02.0", "0000:00:14.0", "0000:00:1f.2", "0000:01:00.0", "0000:02:00.0", "0000:03:00.0", "0000:03:00.1", "0000:04:00.0" }, names);
        JsonElement gfx = devices.EnumerateArray().First();
        Assert.Equal("dmar0", gfx.GetProperty("unit").GetString());
    }

    [Theory]
    [InlineData("01:00.0")]
    [InlineData("0000:01:00.0")]
    public async Task Device_ShortAndLongAddress_SameDevice(string bdf)
    {
        JsonElement device = await GetJsonAsync("/devices/" + bdf);
        Assert.Equal("0000:01:00.0", device.GetProperty("bdf").GetString());
        Assert.Equal("0x0100", device.GetProperty("requester_id").GetString());
        Assert.Equal("dmar1", device.GetProperty("unit").GetString());
        Assert.True(device.GetProperty("aux_supported").GetBoolean());
        Assert.False(device.GetProperty("aux_enabled").GetBoolean());
        Assert.True(device.GetProperty("mdev_parent").GetBoolean());
        Assert.Equal(20, device.GetProperty("pasid_width").GetInt32());
        Assert.Empty(device.GetProperty("pasids").EnumerateArray());
    }

    [Fact]
    public async Task Device_Malformed_400NamesTheAddress()
    {
        await ReadProblemAsync(await GetAsync("/devices/zz:00"), HttpStatusCode.BadRequest, "EINVAL", "'zz:00'", "not a PCI address");
    }

    [Fact]
    public async Task Device_Unknown_404()
    {
        await ReadProblemAsync(await GetAsync("/devices/09:00.0"), HttpStatusCode.NotFound, "ENOENT", "0000:09:00.0");
    }

    [Fact]
    public async Task AuxFeature_EnableThenDisable()
    {
        JsonElement before = await GetJsonAsync("/devices/01:00.0/features/aux");
        Assert.True(before.GetProperty("supported").GetBoolean());
        Assert.False(before.GetProperty("enabled").GetBoolean());

        JsonElement enabled = await ReadJsonAsync(await PostAsync("/devices/01:00.0/features/aux"));
        Assert.True(enabled.GetProperty("enabled").GetBoolean());
        Assert.True((await GetJsonAsync("/devices/01:00.0")).GetProperty("aux_enabled").GetBoolean());

        JsonElement disabled = await ReadJsonAsync(await DeleteAsync("/devices/01:00.0/features/aux"));
        Assert.False(disabled.GetProperty("enabled").GetBoolean());
        Assert.False((await GetJsonAsync("/devices/01:00.0/features/aux")).GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task AuxFeature_OnDeviceWithoutPasid_409Enodev()
    {
        JsonElement nic = await GetJsonAsync("/devices/02:00.0/features/aux");
        Assert.False(nic.GetProperty("supported").GetBoolean());
        await ReadProblemAsync(await PostAsync("/devices/02:00.0/features/aux"), HttpStatusCode.Conflict, "ENODEV", "0000:02:00.0");
        await ReadProblemAsync(await DeleteAsync("/devices/02:00.0/features/aux"), HttpStatusCode.Conflict, "ENODEV", "0000:02:00.0");
    }

    [Fact]
    public async Task AuxFeature_DisableWhileAuxDomainAttached_409Ebusy()
    {
        await ReadJsonAsync(await PostAsync("/devices/01:00.0/features/aux"));
        int domain = await CreateDomainAsync();
        await ReadJsonAsync(await PostAsync($"/domains/{domain}/attachments", """{"device":"01:00.0","aux":true}"""));
        await ReadProblemAsync(await DeleteAsync("/devices/01:00.0/features/aux"), HttpStatusCode.Conflict, "EBUSY", "aux domains attached");
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("POST")]
    [InlineData("DELETE")]
    public async Task AuxFeature_BadAndUnknownDevice_400And404(string method)
    {
        using var bad = new HttpRequestMessage(new HttpMethod(method), "/devices/nope/features/aux");
        await ReadProblemAsync(await Client.SendAsync(bad), HttpStatusCode.BadRequest, "EINVAL", "'nope'");
        using var unknown = new HttpRequestMessage(new HttpMethod(method), "/devices/0a:00.0/features/aux");
        await ReadProblemAsync(await Client.SendAsync(unknown), HttpStatusCode.NotFound, "ENOENT", "0000:0a:00.0");
    }

    [Fact]
    public async Task Groups_ListAndOne()
    {
        JsonElement groups = await GetJsonAsync("/groups");
        Assert.Equal(7, groups.GetArrayLength());
        JsonElement shared = groups.EnumerateArray().Single(g => g.GetProperty("devices").GetArrayLength() == 2);
        Assert.Equal(["0000:03:00.0", "0000:03:00.1"], shared.GetProperty("devices").EnumerateArray().Select(d => d.GetString()));

        int id = shared.GetProperty("id").GetInt32();
        JsonElement one = await GetJsonAsync($"/groups/{id}");
        Assert.Equal($"/sys/kernel/iommu_groups/{id}/devices/0000:03:00.0", one.GetProperty("sysfs")[0].GetString());
        Assert.Equal(one.GetProperty("default_domain").GetInt32(), one.GetProperty("domain").GetInt32());
        Assert.False(one.GetProperty("in_container").GetBoolean());
    }

    [Fact]
    public async Task Group_UnknownAndMalformed_404And400()
    {
        await ReadProblemAsync(await GetAsync("/groups/99"), HttpStatusCode.NotFound, "ENOENT", "no iommu group 99");
        await ReadProblemAsync(await GetAsync("/groups/abc"), HttpStatusCode.BadRequest, "EINVAL", "id", "abc");
    }

    [Fact]
    public async Task UnknownPath_404Problem()
    {
        await ReadProblemAsync(await GetAsync("/no/such/thing"), HttpStatusCode.NotFound, "ENOENT", "/no/such/thing");
    }

    [Fact]
    public async Task WrongMethod_405Problem()
    {
        using var put = new HttpRequestMessage(HttpMethod.Put, "/domains") { Content = Json("{}") };
        await ReadProblemAsync(await Client.SendAsync(put), HttpStatusCode.MethodNotAllowed, "EINVAL", "/domains");
    }

    [Fact]
    public async Task Root_RedirectsToSwagger()
    {
        using var factoryClient = Factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        using HttpResponseMessage response = await factoryClient.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/swagger", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task OpenApi_ValidJsonListingEveryPath()
    {
        JsonElement doc = await GetJsonAsync("/openapi/v1.json");
        Assert.StartsWith("3.", doc.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.Equal("Siov.Fast admin API", doc.GetProperty("info").GetProperty("title").GetString());
        string[] paths = [.. doc.GetProperty("paths").EnumerateObject().Select(p => p.Name)];
        foreach (string expected in new[]
        {
            "/healthz", "/platform", "/devices", "/devices/{bdf}", "/devices/{bdf}/features/aux", "/groups", "/groups/{id}",
            "/domains", "/domains/{id}", "/domains/{id}/mappings", "/domains/{id}/mappings/batch", "/domains/{id}/attachments",
            "/mdev/types", "/mdevs", "/mdevs/{uuid}", "/containers", "/containers/{id}", "/containers/{id}/groups",
            "/containers/{id}/groups/{group}", "/containers/{id}/dma", "/faults", "/stats", "/translate", "/translate/batch",
        })
        {
            Assert.Contains(expected, paths);
        }
        JsonElement domain = doc.GetProperty("paths").GetProperty("/domains/{id}");
        Assert.True(domain.TryGetProperty("get", out _));
        Assert.True(domain.TryGetProperty("delete", out _));
    }

    [Fact]
    public async Task SwaggerUi_ServesItsPage()
    {
        using HttpResponseMessage response = await GetAsync("/swagger/index.html");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        string html = await response.Content.ReadAsStringAsync();
        Assert.Contains("swagger", html, StringComparison.OrdinalIgnoreCase);

        using HttpResponseMessage bare = await GetAsync("/swagger");
        Assert.Equal(HttpStatusCode.OK, bare.StatusCode); // the client follows the UI's redirect to index.html
    }
}
