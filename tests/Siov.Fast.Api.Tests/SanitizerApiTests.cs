using System.Net;
using System.Text.Json;

namespace Siov.Fast.Api.Tests;

/// <summary><c>/sanitizer</c>: switched on over HTTP, it checks every translation of a seed 002 session and finds
/// nothing stale, since the server's driver invalidates what it changes.</summary>
public sealed class SanitizerApiTests : ApiTestHost
{
    [Fact]
    public async Task Sanitizer_OnForASession_ComparesAndReportsNothing()
    {
        JsonElement before = await GetJsonAsync("/sanitizer");
        Assert.All(before.EnumerateArray(), u => Assert.False(u.GetProperty("enabled").GetBoolean()));
        JsonElement on = await ReadJsonAsync(await PostAsync("/sanitizer"));
        Assert.All(on.EnumerateArray(), u => Assert.True(u.GetProperty("enabled").GetBoolean()));

        await ReadJsonAsync(await PostAsync("/devices/01:00.0/features/aux"));
        int group = (await ReadJsonAsync(await PostAsync("/mdevs", """{"parent":"01:00.0","type":"idxd-wq"}"""), HttpStatusCode.Created)).GetProperty("group").GetInt32();
        int nic = await DeviceGroupAsync("02:00.0");
        await ReadJsonAsync(await PostAsync("/containers"), HttpStatusCode.Created);
        await ReadJsonAsync(await PostAsync("/containers/1/groups", $$"""{"group":{{nic}}}"""));
        await ReadJsonAsync(await PostAsync("/containers/1/groups", $$"""{"group":{{group}}}"""));
        for (int round = 0; round < 3; round++)
        {
            await ReadJsonAsync(await PostAsync("/containers/1/dma", """{"iova":"0x0","hpa":"0x4000000000","size":"0x200000","prot":"rw"}"""), HttpStatusCode.Created);
            for (int i = 0; i < 8; i++)
            {
                await GetJsonAsync($"/translate?device=02:00.0&iova=0x{i * 0x3000:x}");
                await GetJsonAsync($"/translate?device=01:00.0&pasid=1&iova=0x{i * 0x3000:x}&access=write");
            }
            await ReadJsonAsync(await DeleteAsync("/containers/1/dma?iova=0x0&size=0x200000"));
            await GetJsonAsync("/translate?device=02:00.0&iova=0x1000");
            await GetJsonAsync("/translate?device=01:00.0&pasid=1&iova=0x1000");
        }

        JsonElement after = await GetJsonAsync("/sanitizer");
        Assert.True(after.EnumerateArray().Sum(u => u.GetProperty("comparisons").GetInt64()) > 40);
        Assert.All(after.EnumerateArray(), u =>
        {
            Assert.Equal(0, u.GetProperty("stale_translations").GetInt64());
            Assert.Empty(u.GetProperty("reports").EnumerateArray());
        });
    }
}
