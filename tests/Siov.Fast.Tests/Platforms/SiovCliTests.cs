using System.Text.Json;
using Siov.Fast.Cli;

namespace Siov.Fast.Tests.Platforms;

/// <summary>The <c>siov platform show</c> command run in-process.</summary>
public class SiovCliTests
{
    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = SiovCommand.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static string DataFile(string name) => Path.Combine(PlatformTestData.DataDirectory, name);

    [Fact]
    public void ShowJson_R820_UnitsScopesRmrrAts()
    {
        var (code, output, error) = Run("platform", "show", "--dmar", DataFile("dell-poweredge-r820.dmar.dat"), "--json");

        Assert.Equal(0, code);
        Assert.Empty(error);
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement root = doc.RootElement;
        JsonElement[] units = root.GetProperty("units").EnumerateArray().ToArray();
        Assert.Equal(["0xcf000000", "0xc8000000", "0xc4000000", "0xdf100000"], units.Select(u => u.GetProperty("register_base").GetString()));
        Assert.Equal([false, false, false, true], units.Select(u => u.GetProperty("include_pci_all").GetBoolean()));
        JsonElement firstScope = units[0].GetProperty("scopes")[0];
        Assert.Equal("ioapic", firstScope.GetProperty("type").GetString());
        Assert.Equal("40", firstScope.GetProperty("bus").GetString());
        Assert.Equal(["05.4"], firstScope.GetProperty("path").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal(0, units[3].GetProperty("segment").GetInt32());
        JsonElement rmrr = root.GetProperty("reserved_memory")[0];
        Assert.Equal("0xbf458000", rmrr.GetProperty("base").GetString());
        Assert.Equal("0xbf46ffff", rmrr.GetProperty("limit").GetString());
        Assert.Equal(2, rmrr.GetProperty("scopes").GetArrayLength());
        Assert.Equal(8, root.GetProperty("ats")[0].GetProperty("scopes").GetArrayLength());
        Assert.Equal(0, root.GetProperty("skipped").GetArrayLength());
        Assert.Equal(6, root.GetProperty("devices").GetArrayLength());
        Assert.Equal(5, root.GetProperty("groups").GetArrayLength());
        Assert.Equal(46, root.GetProperty("host_address_width").GetInt32());
    }

    [Fact]
    public void ShowJson_MsiAndThinkPad_SkippedSatcIvhdIvmd()
    {
        var (code, output, _) = Run("platform", "show", "--dmar", DataFile("msi-prestige-13-ai-evo.dmar.dat"),
            "--ivrs", DataFile("lenovo-thinkpad-t14-gen3.ivrs.dat"), "--json");

        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement root = doc.RootElement;
        JsonElement[] skipped = root.GetProperty("skipped").EnumerateArray().ToArray();
        Assert.Equal([(6, 32), (0x51, 32)], skipped.Select(s => (s.GetProperty("type").GetInt32(), s.GetProperty("length").GetInt32())));
        Assert.True(root.GetProperty("satc")[0].GetProperty("atc_required").GetBoolean());
        Assert.Equal(["0x10", "0x11", "0x40"], root.GetProperty("ivhd").EnumerateArray().Select(h => h.GetProperty("type").GetString()));
        JsonElement ivhd = root.GetProperty("ivhd")[0];
        Assert.Equal("00:00.2", ivhd.GetProperty("device_id").GetString());
        Assert.Equal("0xfe000000", ivhd.GetProperty("iommu_base").GetString());
        Assert.Equal("0x3", ivhd.GetProperty("entries")[0].GetProperty("type").GetString());
        Assert.Equal("0x7132f000", root.GetProperty("ivmd")[0].GetProperty("start").GetString());
    }

    [Fact]
    public void ShowText_Asus_PrintsUnitsAndGroups()
    {
        var (code, output, _) = Run("platform", "show", "--dmar", DataFile("asus-q325uar.dmar.dat"));

        Assert.Equal(0, code);
        Assert.Contains("unit 0xfed90000", output, StringComparison.Ordinal);
        Assert.Contains("/sys/kernel/iommu_groups/0/devices/0000:00:02.0", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Show_DamagedTable_OneLineErrorNamingFileAndErrno_Exit2()
    {
        string path = Path.Combine(Path.GetTempPath(), $"siov-damaged-{Environment.ProcessId}.dat");
        byte[] table = PlatformTestData.Bytes("dell-poweredge-r820.dmar");
        File.WriteAllBytes(path, table[..100]);
        try
        {
            var (code, output, error) = Run("platform", "show", "--dmar", path);

            Assert.Equal(2, code);
            Assert.Empty(output);
            Assert.Single(error.TrimEnd().Split('\n'));
            Assert.Contains(path, error, StringComparison.Ordinal);
            Assert.Contains("EINVAL", error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Show_MissingFile_Exit2WithEnoent()
    {
        var (code, _, error) = Run("platform", "show", "--dmar", "/nonexistent/DMAR");

        Assert.Equal(2, code);
        Assert.Contains("/nonexistent/DMAR", error, StringComparison.Ordinal);
        Assert.Contains("ENOENT", error, StringComparison.Ordinal);
    }

    [R820LspciFact]
    public void ShowJson_R820WithLspci_GroupsAndDevices()
    {
        var (code, output, _) = Run("platform", "show", "--dmar", DataFile("dell-poweredge-r820.dmar.dat"),
            "--lspci", PlatformTestData.SharedFile(PlatformTestData.R820Lspci)!, "--json");

        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement device = doc.RootElement.GetProperty("devices").EnumerateArray()
            .Single(d => d.GetProperty("address").GetString() == "0000:00:1a.0");
        Assert.Equal("0xdf100000", device.GetProperty("unit").GetString());
        Assert.Equal(2, device.GetProperty("reserved_regions").GetArrayLength());
        Assert.Equal(195, doc.RootElement.GetProperty("groups").EnumerateArray().Sum(g => g.GetProperty("devices").GetArrayLength()));
    }
}
