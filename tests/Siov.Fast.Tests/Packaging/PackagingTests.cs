using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Siov.Fast.Tests.Packaging;

/// <summary>
/// The packages as a consumer gets them, packed into a folder feed in a temporary directory (nothing is
/// written into the repository but MSBuild's own caches under obj/):
/// <list type="bullet">
/// <item>the engine: samples/DeviceModel (a copy) restored from that feed alone and built with the package
/// README's examples compiled beside it, then run; a package that lacks a type the sample uses, or
/// translates wrongly, fails here;</item>
/// <item>the <c>siov</c> tool: installed from the feed into a tool path and run.</item>
/// </list>
/// </summary>
/// <remarks>
/// Offline: the nuget.config used clears every source but the folder feed, and restore uses a package
/// folder of its own, so a package of the same version cached by an earlier run is never taken.
/// Serialized with the soak tests: a build takes both cores of a small machine for a while.
/// </remarks>
[Collection("Soak")]
public sealed partial class PackagingTests : IDisposable
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private readonly string _temp = Path.Combine(Path.GetTempPath(), "siov-package-" + Guid.NewGuid().ToString("N")[..12]);

    public PackagingTests() => Directory.CreateDirectory(_temp);

    public void Dispose()
    {
        try { Directory.Delete(_temp, recursive: true); }
        catch (IOException) { /* a leftover temp directory is harmless */ }
    }

    [Fact]
    public void PackedEngine_DeviceModelSampleBuildsFromTheFeedAndTranslates()
    {
        string root = RepositoryRoot();
        string feed = Path.Combine(_temp, "feed");

        // 1. Pack what this test run was built from (no build: nothing is written under the repository).
        Run(TimeSpan.FromMinutes(3), "pack", Path.Combine(root, "src", "Siov.Fast", "Siov.Fast.csproj"), "--no-build",
            "-c", Configuration, "-o", feed, "-p:NuspecOutputPath=" + Path.Combine(_temp, "nuspec") + "/", "-nologo", "-v:q");
        string package = Directory.GetFiles(feed, "Siov.Fast.*.nupkg").Single(p => !p.EndsWith(".symbols.nupkg", StringComparison.Ordinal));
        string version = Path.GetFileNameWithoutExtension(package)["Siov.Fast.".Length..];
        Assert.True(File.Exists(Path.Combine(feed, $"Siov.Fast.{version}.snupkg")), "no symbols package beside " + package);
        string readme = CheckPackageMetadata(package);

        // 2. The sample, copied with its Directory.*.props; a nuget.config that knows only the feed.
        string samples = Path.Combine(_temp, "samples");
        string sample = Path.Combine(samples, "DeviceModel");
        Directory.CreateDirectory(sample);
        foreach (string file in new[] { "Directory.Build.props", "Directory.Packages.props" })
            File.Copy(Path.Combine(root, "samples", file), Path.Combine(samples, file));
        foreach (string file in Directory.GetFiles(Path.Combine(root, "samples", "DeviceModel")))
            if (Path.GetFileName(file) != "nuget.config")
                File.Copy(file, Path.Combine(sample, Path.GetFileName(file)));
        WriteNugetConfig(Path.Combine(sample, "nuget.config"), feed);
        int examples = WriteReadmeExamples(readme, sample);
        Assert.True(examples >= 2, $"the package README has {examples} C# example(s)");

        // 3. Restore from the feed, build with the README's examples, run.
        Run(TimeSpan.FromMinutes(5), "build", sample, "-c", "Release", "-p:SiovFastVersion=" + version, "-nologo", "-v:q");
        string dll = Path.Combine(sample, "bin", "Release", "net10.0", "DeviceModel.dll");
        (int code, string output) = Run(TimeSpan.FromMinutes(1), dll);

        Assert.True(code == 0, $"DeviceModel exited {code}:\n{output}");
        Assert.Contains("page table: hit 0x10000001234 in a 0x200000 page, miss NotPresent at level 3", output, StringComparison.Ordinal);
        Assert.Contains("256 DMAs translated, 256 unmapped DMAs faulted", output, StringComparison.Ordinal);
        Assert.Contains("DeviceModel: OK", output, StringComparison.Ordinal);
    }

    [Fact]
    public void PackedTool_InstallsIntoAToolPathAndRuns()
    {
        string root = RepositoryRoot();
        string feed = Path.Combine(_temp, "feed");

        Run(TimeSpan.FromMinutes(3), "pack", Path.Combine(root, "src", "Siov.Fast.Cli", "Siov.Fast.Cli.csproj"), "--no-build",
            "-c", Configuration, "-o", feed, "-p:NuspecOutputPath=" + Path.Combine(_temp, "nuspec") + "/",
            "-p:PublishDir=" + Path.Combine(_temp, "publish") + "/", "-nologo", "-v:q");
        string package = Directory.GetFiles(feed, "Siov.Fast.Cli.*.nupkg").Single();
        string version = Path.GetFileNameWithoutExtension(package)["Siov.Fast.Cli.".Length..];
        string config = Path.Combine(_temp, "nuget.config");
        WriteNugetConfig(config, feed);
        string tools = Path.Combine(_temp, "tools");

        (int installCode, string installOutput) = Run(TimeSpan.FromMinutes(3), "tool", "install", "--tool-path", tools,
            "--configfile", config, "Siov.Fast.Cli", "--version", version);
        Assert.True(installCode == 0, $"dotnet tool install exited {installCode}:\n{installOutput}");
        (int code, string output) = RunFile(TimeSpan.FromMinutes(1), Path.Combine(tools, "siov"), "platform", "show", "--tree");

        Assert.True(code == 0, $"siov exited {code}:\n{output}");
        Assert.StartsWith("siov-demo", output, StringComparison.Ordinal);
        Assert.Contains("+-dmar0 reg_base_addr 0xfed90000", output, StringComparison.Ordinal);
    }

    private static void WriteNugetConfig(string path, string feed) => File.WriteAllText(path, $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <clear />
            <add key="test-feed" value="{feed}" />
          </packageSources>
        </configuration>
        """);

    /// <summary>Checks the nuspec and returns the package's README text.</summary>
    private static string CheckPackageMetadata(string package)
    {
        using ZipArchive zip = ZipFile.OpenRead(package);
        using (Stream nuspec = zip.GetEntry("Siov.Fast.nuspec")!.Open())
        {
            XElement metadata = XDocument.Load(nuspec).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            string? Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
            XElement license = metadata.Elements().Single(e => e.Name.LocalName == "license");
            Assert.Equal(("expression", "MIT"), ((string?)license.Attribute("type"), license.Value));
            Assert.Equal("README.md", Field("readme"));
            Assert.Equal("https://github.com/siov-fast/siov-fast", Field("projectUrl"));
            XElement repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
            Assert.Equal("https://github.com/siov-fast/siov-fast", (string?)repository.Attribute("url"));
        }
        Assert.NotNull(zip.GetEntry("lib/net10.0/Siov.Fast.xml"));
        using var reader = new StreamReader(zip.GetEntry("README.md")!.Open(), Encoding.UTF8);
        string readme = reader.ReadToEnd();
        Assert.DoesNotContain("../shared", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("seed", readme, StringComparison.OrdinalIgnoreCase);
        return readme;
    }

    /// <summary>Writes each ```csharp block of the README as a method of its own (its using directives
    /// hoisted), so that the sample's build compiles it against the package.</summary>
    private static int WriteReadmeExamples(string readme, string directory)
    {
        int n = 0;
        foreach (Match block in CSharpBlock().Matches(readme))
        {
            string[] lines = block.Groups[1].Value.Split('\n');
            IEnumerable<string> usings = lines.Where(l => UsingDirective().IsMatch(l));
            IEnumerable<string> body = lines.Where(l => !UsingDirective().IsMatch(l));
            n++;
            File.WriteAllText(Path.Combine(directory, $"ReadmeExample{n}.cs"),
                string.Join('\n', usings) + $"\n\ninternal static class ReadmeExample{n}\n{{\n    public static void Run()\n    {{\n"
                + string.Join('\n', body) + "\n    }\n}\n");
        }
        return n;
    }

    private (int Code, string Output) Run(TimeSpan timeout, params string[] args) =>
        RunFile(timeout, Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet", args);

    private (int Code, string Output) RunFile(TimeSpan timeout, string program, params string[] args)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _temp,
        };
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        // The test host runs inside MSBuild's and the SDK's environment; the child builds start clean.
        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(key);
        start.Environment["NUGET_PACKAGES"] = Path.Combine(_temp, "packages");
        // An installed tool's launcher finds the runtime through DOTNET_ROOT when dotnet is not in a default place.
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is null && Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } dotnet)
            start.Environment["DOTNET_ROOT"] = Path.GetDirectoryName(dotnet);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        // No build server or node that outlives the build and holds its output pipes open.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', args)} ran past {timeout.TotalSeconds} s:\n{output}");
        }
        process.WaitForExit(); // drains the output
        string text;
        lock (output)
            text = output.ToString();
        if (args[0] is "pack" or "build")
            Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} exited {process.ExitCode}:\n{text}");
        return (process.ExitCode, text);
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Siov.Fast.sln")))
                return dir.FullName;
        throw new InvalidOperationException("no Siov.Fast.sln above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"^using [A-Za-z.]+;\s*$")]
    private static partial Regex UsingDirective();
}
