using System.Text.Json;

namespace Siov.Fast.Api.Tests;

/// <summary>The server started on a real machine's DMAR table (<c>--dmar FILE</c>) instead of the default platform.</summary>
public sealed class RealPlatformApiTests : ApiTestHost
{
    public RealPlatformApiTests()
        : base(("dmar", DataFile("dell-poweredge-r820.dmar.dat")))
    {
    }

    /// <summary>A table copied into the engine's tests (tests/Siov.Fast.Tests/Platforms/Data), found from the repository root.</summary>
    internal static string DataFile(string name)
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Siov.Fast.sln")))
                return Path.Combine(dir.FullName, "tests", "Siov.Fast.Tests", "Platforms", "Data", name);
        }
        throw new InvalidOperationException("repository root not found");
    }

    [Fact]
    public async Task Platform_HasTheTablesFourUnits_WithTheDefaultProfileNamed()
    {
        JsonElement platform = await GetJsonAsync("/platform");
        JsonElement[] units = [.. platform.GetProperty("units").EnumerateArray()];
        // From the .dsl twin: DRHD register bases, in table order.
        Assert.Equal(["0xcf000000", "0xc8000000", "0xc4000000", "0xdf100000"], units.Select(u => u.GetProperty("register_base").GetString()));
        Assert.All(units, u => Assert.Equal("legacy", u.GetProperty("mode").GetString()));
        Assert.All(units, u => Assert.StartsWith("default: legacy", u.GetProperty("profile").GetString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Rmrr_IsListedOnTheDevice_AndIdentityMapped()
    {
        // Without lspci text the devices are the tables' endpoint scopes; 00:1a.0 is named by an RMRR.
        JsonElement usb = await GetJsonAsync("/devices/00:1a.0");
        Assert.Equal(["0xbf458000-0xbf46ffff", "0xbf450000-0xbf450fff"], usb.GetProperty("reserved_regions").EnumerateArray().Select(r => r.GetString()));
        JsonElement t = await GetJsonAsync("/translate?device=00:1a.0&iova=0xbf458010&access=write");
        Assert.Equal("0xbf458010", t.GetProperty("hpa").GetString());
    }
}
