using System.CommandLine;
using Siov.Fast.Platforms;

namespace Siov.Fast.Cli;

/// <summary>The <c>siov</c> command tree; <see cref="Run"/> is what Main calls, and tests call it in-process.</summary>
public static class SiovCommand
{
    /// <summary>Exit code for bad input (a damaged or missing file).</summary>
    public const int BadInput = 2;

    /// <summary>Parses the arguments and runs the command.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="output">Where results go.</param>
    /// <param name="error">Where one-line errors go.</param>
    /// <returns>The exit code: 0 on success, 2 on bad input, 1 on usage errors.</returns>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var dmar = new Option<FileInfo?>("--dmar") { Description = "DMAR table (binary, as /sys/firmware/acpi/tables/DMAR)" };
        var ivrs = new Option<FileInfo?>("--ivrs") { Description = "IVRS table (binary)" };
        var iort = new Option<FileInfo?>("--iort") { Description = "IORT table (binary, Arm): prints its nodes and ID mappings; with --lspci, also the SMMUv3 and StreamID of each function" };
        var lspci = new Option<FileInfo?>("--lspci") { Description = "lspci -vvnn output (text)" };
        var dmesg = new Option<FileInfo?>("--dmesg") { Description = "boot log with 'DMAR: dmarN: reg_base_addr ...' lines" };
        var json = new Option<bool>("--json") { Description = "write one JSON document" };
        var tree = new Option<bool>("--tree")
        {
            Description = "print an lspci -t-like tree: remapping units, bridges, devices, iommu groups (alone: the embedded default platform)",
        };

        var show = new Command("show", "Print units, scopes, registers, devices and iommu groups of a platform");
        show.Options.Add(dmar);
        show.Options.Add(ivrs);
        show.Options.Add(iort);
        show.Options.Add(lspci);
        show.Options.Add(dmesg);
        show.Options.Add(json);
        show.Options.Add(tree);
        show.SetAction(result => result.GetValue(iort) is { } iortFile
            ? ShowIort(iortFile, result.GetValue(lspci), result.GetValue(dmar) is not null || result.GetValue(ivrs) is not null
                || result.GetValue(dmesg) is not null || result.GetValue(json) || result.GetValue(tree), output, error)
            : Show(result.GetValue(dmar), result.GetValue(ivrs), result.GetValue(lspci), result.GetValue(dmesg), result.GetValue(json),
                result.GetValue(tree), output, error));

        var platform = new Command("platform", "Real platforms: firmware tables and topology");
        platform.Subcommands.Add(show);
        var url = new Option<string>("--url") { Description = "the admin server's address", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var sanitizer = new Command("sanitizer", "Show what the invalidation sanitizer of a running admin server found (GET /sanitizer)");
        sanitizer.Options.Add(url);
        sanitizer.SetAction(result =>
        {
            string text = result.GetValue(url) ?? "";
            if (!Uri.TryCreate(text, UriKind.Absolute, out Uri? address) || address.Scheme is not ("http" or "https"))
            {
                error.WriteLine($"siov: --url '{text}' is not an http:// or https:// address: EINVAL");
                return BadInput;
            }
            return SanitizerCommand.Run(address, output, error);
        });

        var root = new RootCommand("siov: Siov.Fast IOMMU model tools");
        root.Subcommands.Add(platform);
        root.Subcommands.Add(sanitizer);
        root.Subcommands.Add(MdevCommand.Create(url, output, error));
        return root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
    }

    /// <summary><c>platform show --iort FILE [--lspci FILE]</c>: the IORT's nodes as text and, with a listing, where each
    /// function's DMA goes (as <see cref="ModelledPlatform.FromIort"/> places it); the IORT does not feed a
    /// <see cref="PlatformDescription"/> (which models VT-d and AMD-Vi platforms), so it takes no other option.</summary>
    private static int ShowIort(FileInfo iort, FileInfo? lspci, bool withOthers, TextWriter output, TextWriter error)
    {
        if (withOthers)
        {
            error.WriteLine("siov: give --iort alone or with --lspci (it prints the IORT's nodes; --dmar, --ivrs, --dmesg, --json and --tree do not apply): EINVAL");
            return BadInput;
        }
        try
        {
            IortTable table = IortTable.Parse(InputFiles.ReadTable(iort, "IORT"));
            PciTopology? topology = lspci is null ? null : PciTopology.ParseLspci(InputFiles.ReadText(lspci, "lspci -vvnn output"));
            output.Write(IortText.Describe(table, topology));
            return 0;
        }
        catch (IommuException e)
        {
            error.WriteLine(TerminalText.Escape($"siov: {iort.FullName}: {e.Message}"));
            return BadInput;
        }
        catch (InputException e)
        {
            error.WriteLine(TerminalText.Escape($"siov: {iort.FullName}: {e.Message}"));
            return BadInput;
        }
    }

    private static int Show(FileInfo? dmar, FileInfo? ivrs, FileInfo? lspci, FileInfo? dmesg, bool json, bool tree, TextWriter output, TextWriter error)
    {
        if (json && tree)
        {
            error.WriteLine("siov: give --json or --tree, not both: EINVAL");
            return BadInput;
        }
        if (dmar is null && ivrs is null)
        {
            if (tree && lspci is null && dmesg is null)
            {
                using ModelledPlatform embedded = ModelledPlatform.CreateDefault();
                output.Write(PlatformTree.Render(embedded));
                return 0;
            }
            error.WriteLine("siov: give --dmar FILE, --ivrs FILE or --iort FILE (--tree alone shows the embedded default platform): EINVAL");
            return BadInput;
        }
        FileInfo? current = null;
        try
        {
            // Read and parse each input alone first so that an error names the file it came from.
            current = dmar;
            byte[]? dmarBytes = dmar is null ? null : InputFiles.ReadTable(dmar, "DMAR");
            if (dmarBytes is not null)
                DmarTable.Parse(dmarBytes);
            current = ivrs;
            byte[]? ivrsBytes = ivrs is null ? null : InputFiles.ReadTable(ivrs, "IVRS");
            if (ivrsBytes is not null)
                IvrsTable.Parse(ivrsBytes);
            current = lspci;
            string? lspciText = lspci is null ? null : InputFiles.ReadText(lspci, "lspci -vvnn output");
            if (lspciText is not null)
                PciTopology.ParseLspci(lspciText);
            current = dmesg;
            string? dmesgText = dmesg is null ? null : InputFiles.ReadText(dmesg, "a boot log (dmesg)");
            DmarBootLog? bootLog = dmesgText is null ? null : DmarBootLog.Parse(dmesgText);
            current = null;

            PlatformDescription platform = PlatformDescription.Load(dmarBytes, ivrsBytes, lspciText, dmesgText);
            if (bootLog is not null)
                foreach (string warning in BootLogCheck.Warnings(dmesgText!, bootLog, platform))
                    error.WriteLine(TerminalText.Escape($"siov: warning: {dmesg!.FullName}: {warning}"));
            if (tree)
                output.Write(PlatformTree.Render(platform, platform.Dmar?.Header.OemTableId.Trim() is { Length: > 0 } oem ? oem : platform.Ivrs is not null ? "IVRS platform" : "DMAR platform"));
            else
                output.Write(json ? PlatformJson.Serialize(platform) + Environment.NewLine : PlatformText.Describe(platform));
            return 0;
        }
        catch (IommuException e)
        {
            error.WriteLine(TerminalText.Escape($"siov: {current?.FullName ?? "platform"}: {e.Message}"));
            return BadInput;
        }
        catch (InputException e)
        {
            error.WriteLine(TerminalText.Escape($"siov: {current?.FullName}: {e.Message}"));
            return BadInput;
        }
    }
}
