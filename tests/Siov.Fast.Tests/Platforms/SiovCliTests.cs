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
        Assert.Equal(["dmar0", "dmar1", "dmar2", "dmar3"], units.Select(u => u.GetProperty("name").GetString()));
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
        Assert.Contains("unit dmar0 reg_base_addr 0xfed90000 segment 0", output, StringComparison.Ordinal);
        Assert.Contains("unit dmar1 reg_base_addr 0xfed91000 segment 0 INCLUDE_PCI_ALL", output, StringComparison.Ordinal);
        Assert.Contains("device 0000:00:02.0 unit dmar0 group 0", output, StringComparison.Ordinal);
        Assert.Contains("device 0000:00:14.0 unit dmar1 group 1", output, StringComparison.Ordinal);
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
        Assert.Equal("dmar3", device.GetProperty("unit").GetString());
        Assert.Equal("0xdf100000", device.GetProperty("unit_register_base").GetString());
        Assert.Equal(2, device.GetProperty("reserved_regions").GetArrayLength());
        Assert.Equal(195, doc.RootElement.GetProperty("groups").EnumerateArray().Sum(g => g.GetProperty("devices").GetArrayLength()));
    }

    [Fact]
    public void Show_DirectoryGivenAsFile_EisdirNamingThePath()
    {
        string directory = Path.GetTempPath().TrimEnd('/');

        var (dmarCode, _, dmarError) = Run("platform", "show", "--dmar", directory);
        var (lspciCode, _, lspciError) = Run("platform", "show", "--dmar", DataFile("asus-q325uar.dmar.dat"), "--lspci", directory);

        Assert.Equal((2, 2), (dmarCode, lspciCode));
        Assert.Equal($"siov: {directory}: EISDIR: is a directory, expected a file", dmarError.TrimEnd());
        Assert.Equal($"siov: {directory}: EISDIR: is a directory, expected a file", lspciError.TrimEnd());
    }

    [Fact]
    public void Show_DslGivenAsDmar_NamedFormatMismatch()
    {
        var (code, output, error) = Run("platform", "show", "--dmar", DataFile("asus-q325uar.dmar.dsl"));

        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Contains(DataFile("asus-q325uar.dmar.dsl") + ": EINVAL: looks like text (an iasl .dsl disassembly?), expected a binary DMAR table", error, StringComparison.Ordinal);
        Assert.DoesNotContain("truncated", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Show_TextGivenAsIvrs_NamedFormatMismatch()
    {
        var (code, _, error) = Run("platform", "show", "--ivrs", DataFile("supermicro-h8dgu.ivrs.dsl"));

        Assert.Equal(2, code);
        Assert.Contains("looks like text (an iasl .dsl disassembly?), expected a binary IVRS table", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Show_BinaryLspci_OffendingLineQuotedEscapedAndCut_NothingRawOnTheTerminal()
    {
        byte[] garbage = [.. "\u007fELF"u8, 0x00, 0x01, 0x1b, .. "[2J"u8, 0x9b, 0xff, .. Enumerable.Repeat((byte)'A', 100), (byte)'\n', .. "00:00.0 Host bridge [0600]: x"u8];
        string path = TempFile("lspci.bin", garbage);
        try
        {
            var (code, output, error) = Run("platform", "show", "--dmar", DataFile("asus-q325uar.dmar.dat"), "--lspci", path);

            Assert.Equal(2, code);
            Assert.Empty(output);
            string line = Assert.Single(error.TrimEnd().Split('\n'));
            Assert.StartsWith($"siov: {path}: EINVAL: line 1 is binary data, expected lspci -vvnn output: '\\x7fELF\\x00\\x01\\x1b[2J\\x9b\\xffAAA", line, StringComparison.Ordinal);
            Assert.EndsWith("A'...", line, StringComparison.Ordinal);
            Assert.True(line.Length < 200, line);
            Assert.DoesNotContain(line, c => char.IsControl(c) || c > 0x7e);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Show_LspciLineWithFormatCharacters_EngineQuoteEscaped()
    {
        // Valid UTF-8 text, so the parser sees it and quotes the line; a right-to-left override must not reach the terminal raw.
        string path = TempFile("lspci.txt", "\u202Egarbage header\n"u8.ToArray());
        try
        {
            var (code, _, error) = Run("platform", "show", "--dmar", DataFile("asus-q325uar.dmar.dat"), "--lspci", path);

            Assert.Equal(2, code);
            Assert.Contains("lspci line 1: '\\u202egarbage header' is not a function header", error, StringComparison.Ordinal);
            Assert.DoesNotContain('\u202E', error);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Show_GarbageDmesg_WarnsHowManyLinesWereNotUnderstood_StillExit0()
    {
        string path = TempFile("dmesg.txt", "hello\nthis is not a boot log\n\nat all\n"u8.ToArray());
        try
        {
            var (code, output, error) = Run("platform", "show", "--dmar", DataFile("asus-q325uar.dmar.dat"), "--dmesg", path);

            Assert.Equal(0, code);
            Assert.Contains("unit dmar0", output, StringComparison.Ordinal);
            Assert.Equal($"siov: warning: {path}: 3 line(s) not understood: none is a DMAR boot-log line " +
                "('DMAR: dmarN: reg_base_addr ...' or 'DMAR: Host address width N'); the units keep the default profile", error.TrimEnd());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Show_RealBootLogWithUnrelatedLines_NoWarning_CutUnitLineWarns()
    {
        const string Log = """
            [    0.000000] Linux version 5.15.0-91-generic (buildd@lcy02-amd64-045) (gcc 11.4.0)
            [    0.010952] ACPI: DMAR 0x00000000BF4D5000 000198 (v01 DELL   PE_SC3   00000001 DELL 00000001)
            [    0.921134] DMAR: Host address width 46
            [    0.921136] DMAR: DRHD base: 0x000000cf000000 flags: 0x0
            [    0.921144] DMAR: dmar0: reg_base_addr cf000000 ver 1:0 cap d2078c106f0466 ecap f020de
            [    0.921301] DMAR: RMRR base: 0x000000bf458000 end: 0x000000bf46ffff
            [    0.921310] DMAR-IR: IOAPIC id 0 under DRHD base  0xdf100000 IOMMU 3
            [    1.204511] pci 0000:00:00.0: [8086:0e00] type 00 class 0x060000
            """;
        string good = TempFile("dmesg-good.txt", System.Text.Encoding.UTF8.GetBytes(Log));
        string cut = TempFile("dmesg-cut.txt", System.Text.Encoding.UTF8.GetBytes(Log + "\n[    0.921150] DMAR: dmar1: reg_base_addr c8000000 ver 1:0 cap d2078c1\n"));
        try
        {
            var (goodCode, goodOutput, goodError) = Run("platform", "show", "--dmar", DataFile("dell-poweredge-r820.dmar.dat"), "--dmesg", good);
            var (cutCode, _, cutError) = Run("platform", "show", "--dmar", DataFile("dell-poweredge-r820.dmar.dat"), "--dmesg", cut);

            Assert.Equal((0, 0), (goodCode, cutCode));
            Assert.Empty(goodError);
            Assert.Contains("cap d2078c106f0466 ecap f020de profile dmesg dmar0 (ver 1:0)", goodOutput, StringComparison.Ordinal);
            Assert.Equal($"siov: warning: {cut}: 1 DMAR line(s) not understood (expected 'DMAR: dmarN: reg_base_addr HEX ver N:N cap HEX ecap HEX' " +
                "or 'DMAR: Host address width N'), the first at line 9: '[    0.921150] DMAR: dmar1: reg_base_addr c8000000 ver 1:0 cap d2078c1'", cutError.TrimEnd());
        }
        finally
        {
            File.Delete(good);
            File.Delete(cut);
        }
    }

    [Fact]
    public void ShowTree_EmbeddedDefault_UnitsDevicesGroups()
    {
        var (code, output, error) = Run("platform", "show", "--tree");

        Assert.Equal(0, code);
        Assert.Empty(error);
        Assert.Equal("""
            siov-demo
            +-dmar0 reg_base_addr 0xfed90000
            | \-0000:00:02.0 group 0
            \-dmar1 reg_base_addr 0xfed91000 INCLUDE_PCI_ALL
              +-0000:00:14.0 group 1
              +-0000:00:1f.2 group 2
              +-0000:01:00.0 group 3
              +-0000:02:00.0 group 4
              +-0000:03:00.0 group 5 (2 devices)
              +-0000:03:00.1 group 5 (2 devices)
              \-0000:04:00.0 group 6

            """.ReplaceLineEndings("\n"), output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void ShowTree_WithJson_EinvalNamingBoth()
    {
        var (code, output, error) = Run("platform", "show", "--tree", "--json");

        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Equal("siov: give --json or --tree, not both: EINVAL", error.TrimEnd());
    }

    [Fact]
    public void ShowTree_AsusTablesOnly_UnitsAndTheirDevices()
    {
        var (code, output, _) = Run("platform", "show", "--dmar", DataFile("asus-q325uar.dmar.dat"), "--tree");

        Assert.Equal(0, code);
        Assert.Contains("+-dmar0 reg_base_addr 0xfed90000 segment 0\n| \\-0000:00:02.0 group 0\n", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("\\-dmar1 reg_base_addr 0xfed91000 segment 0 INCLUDE_PCI_ALL\n  \\-0000:00:14.0 group 1\n", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [R820LspciFact]
    public void ShowTree_R820WithLspci_BridgesNestDevicesOfTheirUnit()
    {
        var (code, output, _) = Run("platform", "show", "--dmar", DataFile("dell-poweredge-r820.dmar.dat"),
            "--lspci", PlatformTestData.SharedFile(PlatformTestData.R820Lspci)!, "--tree");

        Assert.Equal(0, code);
        string text = output.ReplaceLineEndings("\n");
        Assert.StartsWith("PE_SC3\n+-dmar0 reg_base_addr 0xcf000000 segment 0\n", text, StringComparison.Ordinal);
        Assert.Contains("""
              +-0000:00:1c.7 bridge [bus 07-0b] group 9 (7 devices)
              | \-0000:07:00.0 bridge [bus 08-0b] group 9 (7 devices)
              |   +-0000:08:00.0 bridge [bus 09-0a] group 9 (7 devices)
              |   | \-0000:09:00.0 bridge [bus 0a-0a] group 9 (7 devices)
              |   |   \-0000:0a:00.0 group 9 (7 devices)
              |   \-0000:08:01.0 bridge [bus 0b-0b] group 9 (7 devices)
            """.ReplaceLineEndings("\n"), text, StringComparison.Ordinal);
        // Every device appears once.
        Assert.Equal(195, text.Split('\n').Count(l => l.Contains("-0000:", StringComparison.Ordinal)));
    }

    [Fact]
    public void ShowIort_QemuVirt_PrintsNodesAndMappings()
    {
        var (code, output, error) = Run("platform", "show", "--iort", TempFile("qemu-virt.iort.dat", IortTableTests.QemuVirt()));

        Assert.Equal(0, code);
        Assert.Empty(error);
        Assert.Equal(
            [
                "iort revision 3 oem 'BOCHS ' 'BXPC    ' nodes 3 at 0x30",
                "node 0x30 id 0 rev 1 its-group its [0]",
                "node 0x48 id 1 rev 4 smmuv3 base 0x9050000 flags 0x1 cohacc-override httu-override 0 model 0 gsiv event 106 pri 107 gerr 109 sync 108",
                "  map 0x0-0xffff -> node 0x30 from 0x0",
                "node 0xa0 id 2 rev 3 root-complex segment 0 ats 0x0 address-bits 64 max-pasid-bits 0 cca 1 hints 0x0 memory-flags 0x3",
                "  map 0x0-0xffff -> node 0x48 from 0x0",
            ],
            output.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void ShowIort_Mixed_NamedComponentRmrAndSkippedNodes()
    {
        var (code, output, _) = Run("platform", "show", "--iort", TempFile("mixed.iort.dat", IortTableTests.MixedTable()));

        Assert.Equal(0, code);
        Assert.Contains("node 0x198 id 15 rev 4 named-component '\\_SB_.ETH0' flags 0x15 stall ssid-bits 10 address-bits 48 cca 1 hints 0x0 memory-flags 0x1", output, StringComparison.Ordinal);
        Assert.Contains("  map single -> node 0x4c id 0x40", output, StringComparison.Ordinal);
        Assert.Contains("root-complex segment 0 ats 0x7 ATS PRI PASID-forwarding address-bits 48 max-pasid-bits 20 pasid", output, StringComparison.Ordinal);
        Assert.Contains("  map 0x100-0x1ff -> node 0xb8 from 0x8000", output, StringComparison.Ordinal);
        Assert.Contains("smmuv3 base 0x2b400000 flags 0x1d cohacc-override httu-override 2 model 0 gsiv event 0 pri 0 gerr 0 sync 0 proximity-domain 1 deviceid-mapping 1 vatos 0x2b500000", output, StringComparison.Ordinal);
        Assert.Contains("pmcg page0 0x2b420000 page1 0x2b430000 overflow-gsiv 0 node 0x4c", output, StringComparison.Ordinal);
        Assert.Contains("rmr flags 0x15 remap-permitted attributes 5", output, StringComparison.Ordinal);
        Assert.Contains("  range 0x80100000 length 0x200000", output, StringComparison.Ordinal);
        Assert.Contains("skipped node 0x27c type 3 (SMMUv1/v2) length 24", output, StringComparison.Ordinal);
        Assert.Contains("skipped node 0x294 type 66 length 16", output, StringComparison.Ordinal);
    }

    [Fact]
    public void ShowIort_Truncated_OneLineEinvalNamingTheFile_Exit2()
    {
        string path = TempFile("cut.iort.dat", IortTableTests.QemuVirt()[..100]);

        var (code, output, error) = Run("platform", "show", "--iort", path);

        Assert.Equal(SiovCommand.BadInput, code);
        Assert.Empty(output);
        Assert.StartsWith($"siov: {path}: ", error, StringComparison.Ordinal);
        Assert.Contains("EINVAL", error, StringComparison.Ordinal);
        Assert.Contains("IORT table truncated at offset 100", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ShowIort_WithOtherInputs_Einval()
    {
        string iort = TempFile("qemu.iort.dat", IortTableTests.QemuVirt());

        var (code, _, error) = Run("platform", "show", "--iort", iort, "--dmar", DataFile("asus-q325uar.dmar.dat"));
        Assert.Equal(SiovCommand.BadInput, code);
        Assert.Contains("give --iort alone or with --lspci", error, StringComparison.Ordinal);
        Assert.Equal(SiovCommand.BadInput, Run("platform", "show", "--iort", iort, "--json").Code);
    }

    /// <summary>With a listing, each function's SMMUv3 and StreamID, by hand from the table: bus 0 to SMMU A at the RID,
    /// bus 1 to SMMU B at 0x8000 + (RID - 0x100).</summary>
    [Fact]
    public void ShowIort_WithLspci_NamesEachFunctionsSmmuAndStreamId()
    {
        var (code, output, _) = Run("platform", "show", "--iort", DataFile("siov-arm-mixed.iort.dat"), "--lspci", DataFile("siov-arm-mixed.lspci.txt"));
        Assert.Equal(0, code);
        string[] lines = output.Split(Environment.NewLine);
        Assert.Contains("device 0000:00:01.0 -> smmuv3 0x2b400000 streamid 0x8", lines);
        Assert.Contains("device 0000:01:00.0 -> smmuv3 0x2b600000 streamid 0x8000", lines);
    }

    private static string TempFile(string name, byte[] content)
    {
        string path = Path.Combine(Path.GetTempPath(), $"siov-cli-{Environment.ProcessId}-{Guid.NewGuid():N}-{name}");
        File.WriteAllBytes(path, content);
        return path;
    }
}
