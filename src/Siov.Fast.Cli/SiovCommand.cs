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
        var lspci = new Option<FileInfo?>("--lspci") { Description = "lspci -vvnn output" };
        var dmesg = new Option<FileInfo?>("--dmesg") { Description = "boot log with 'DMAR: dmarN: reg_base_addr ...' lines" };
        var json = new Option<bool>("--json") { Description = "write one JSON document" };

        var show = new Command("show", "Print units, scopes, registers, devices and iommu groups of a platform");
        show.Options.Add(dmar);
        show.Options.Add(ivrs);
        show.Options.Add(lspci);
        show.Options.Add(dmesg);
        show.Options.Add(json);
        show.SetAction(result => Show(
            result.GetValue(dmar), result.GetValue(ivrs), result.GetValue(lspci), result.GetValue(dmesg), result.GetValue(json), output, error));

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

    private static int Show(FileInfo? dmar, FileInfo? ivrs, FileInfo? lspci, FileInfo? dmesg, bool json, TextWriter output, TextWriter error)
    {
        if (dmar is null && ivrs is null)
        {
            error.WriteLine("siov: give --dmar FILE or --ivrs FILE: EINVAL");
            return BadInput;
        }
        FileInfo? current = null;
        try
        {
            current = dmar;
            byte[]? dmarBytes = dmar is null ? null : File.ReadAllBytes(dmar.FullName);
            current = ivrs;
            byte[]? ivrsBytes = ivrs is null ? null : File.ReadAllBytes(ivrs.FullName);
            current = lspci;
            string? lspciText = lspci is null ? null : File.ReadAllText(lspci.FullName);
            current = dmesg;
            string? dmesgText = dmesg is null ? null : File.ReadAllText(dmesg.FullName);

            // Parse each input alone first so that an error names the file it came from.
            current = dmar;
            if (dmarBytes is not null)
                DmarTable.Parse(dmarBytes);
            current = ivrs;
            if (ivrsBytes is not null)
                IvrsTable.Parse(ivrsBytes);
            current = lspci;
            if (lspciText is not null)
                PciTopology.ParseLspci(lspciText);
            current = dmesg;
            if (dmesgText is not null)
                DmarBootLog.Parse(dmesgText);
            current = null;

            PlatformDescription platform = PlatformDescription.Load(dmarBytes, ivrsBytes, lspciText, dmesgText);
            output.Write(json ? PlatformJson.Serialize(platform) + Environment.NewLine : platform.Describe());
            return 0;
        }
        catch (IommuException e)
        {
            error.WriteLine($"siov: {current?.FullName ?? "platform"}: {e.Message}");
            return BadInput;
        }
        catch (IOException e)
        {
            error.WriteLine($"siov: {current?.FullName}: ENOENT: {e.Message}");
            return BadInput;
        }
        catch (UnauthorizedAccessException e)
        {
            error.WriteLine($"siov: {current?.FullName}: EPERM: {e.Message}");
            return BadInput;
        }
    }
}
