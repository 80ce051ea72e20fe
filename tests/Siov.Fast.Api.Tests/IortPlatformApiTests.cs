using System.Net;
using System.Text.Json;

namespace Siov.Fast.Api.Tests;

/// <summary>The server started on an Arm machine's IORT and lspci (<c>--iort FILE --lspci FILE</c>): two SMMUv3s, and a
/// function whose requester id the root complex maps to StreamID 0x8000 on the second; translation by requester id goes
/// to that SMMU with that StreamID.</summary>
public sealed class IortPlatformApiTests() : ApiTestHost(
    ("iort", RealPlatformApiTests.DataFile("siov-arm-mixed.iort.dat")), ("lspci", RealPlatformApiTests.DataFile("siov-arm-mixed.lspci.txt")))
{
    [Fact]
    public async Task Platform_FromTheIort_RoutesRequesterIdsToStreamIds()
    {
        JsonElement platform = await GetJsonAsync("/platform");
        Assert.Equal("SIOVIORT", platform.GetProperty("name").GetString());
        Assert.Equal(["smmu3.0x000000002b400000", "smmu3.0x000000002b600000"],
            platform.GetProperty("units").EnumerateArray().Select(u => u.GetProperty("name").GetString()));
        JsonElement accel = await GetJsonAsync("/devices/01:00.0");
        Assert.Equal("smmu3.0x000000002b600000", accel.GetProperty("unit").GetString());

        int domain = accel.GetProperty("domain").GetInt32();
        await ReadJsonAsync(await PostAsync($"/domains/{domain}/mappings", """{"iova":"0x4000","hpa":"0x900000000","size":"0x1000","prot":"rw"}"""), HttpStatusCode.Created);
        JsonElement hit = await GetJsonAsync("/translate?device=01:00.0&iova=0x4010&access=write");
        Assert.Equal("0x900000010", hit.GetProperty("hpa").GetString());
        JsonElement batch = await ReadJsonAsync(await PostAsync("/translate/batch",
            """{"requests":[{"device":"01:00.0","iova":"0x4010","access":"read"},{"device":"00:01.0","iova":"0x4010","access":"read"}]}"""));
        JsonElement[] results = [.. batch.GetProperty("results").EnumerateArray()];
        Assert.Equal("0x900000010", results[0].GetProperty("hpa").GetString());
        Assert.Equal("F_TRANSLATION", results[1].GetProperty("fault").GetProperty("reason").GetString()); // the NIC's own domain maps nothing
    }
}
