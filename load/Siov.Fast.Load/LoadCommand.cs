using System.CommandLine;
using Siov.Fast.Workloads;

namespace Siov.Fast.Load;

/// <summary>
/// siov-load: drives the standard workloads of docs/workloads.md against the engine in this process, against
/// the admin server's binary batch endpoint, or against a bare array (the lower bound). Progress on stderr once
/// a second; with --json one JSON line on stdout, e.g.
/// <c>dotnet run -c Release --project load/Siov.Fast.Load -- --workload hot4k --threads 1 --requests 50000000 --json</c>.
/// </summary>
/// <remarks>A bad option (a value that is not a number, out of range, an unknown option) is one line on stderr
/// naming the option and the value, and exit code 2; a run that cannot go on is exit code 3.</remarks>
internal static class LoadCommand
{
    /// <summary>Exit code for a bad command line.</summary>
    public const int UsageError = 2;

    /// <summary>Exit code for a run that cannot go on (<see cref="LoadException"/>).</summary>
    public const int RunFailed = 3;

    /// <summary>Parses the arguments and runs the load.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="error">Where one-line errors go (progress and results go to the console).</param>
    /// <returns>The exit code: 0, <see cref="UsageError"/> or <see cref="RunFailed"/>.</returns>
    public static int Run(string[] args, TextWriter error)
    {
        var workloadOption = CheckedOptions.Choice("--workload", "hot4k, cold4k, huge2m or siov64 (docs/workloads.md)", "hot4k", [.. StandardWorkload.All.Select(w => w.Name)]);
        var threadsOption = CheckedOptions.Whole("--threads", "Worker threads (thread t draws from seed + t)", 1, 1, int.MaxValue);
        var requestsOption = CheckedOptions.OptionalWhole("--requests", "Requests per thread (default 10,000,000 unless --seconds)", 1L, long.MaxValue);
        var secondsOption = CheckedOptions.OptionalReal("--seconds", "Run for this many seconds instead of a request count", 0, minExclusive: true);
        var seedOption = CheckedOptions.Whole("--seed", "Seed of the request streams", 42UL, ulong.MinValue, ulong.MaxValue);
        var modeOption = CheckedOptions.Choice("--mode",
            "inproc (engine in this process), http (admin server), bare (one array load per request: the lower bound)",
            "inproc", "inproc", "http", "bare");
        var urlOption = new Option<string>("--url") { Description = "Admin server base URL (http mode)", DefaultValueFactory = _ => "http://127.0.0.1:5080/" };
        var batchOption = CheckedOptions.Whole("--batch", "Requests per batch call (1: one Translate call per request)", 256, 1, 1_048_576);
        var churnOption = CheckedOptions.Real("--churn",
            "Map/unmap operations per second by a writer thread in an IOVA range the requests never touch (inproc)", 0, 0);
        var warmupOption = CheckedOptions.Whole("--warmup",
            "Untimed, unchecked requests per thread before the run (another stream), to compile and warm caches; when not 0, it also lasts at least 0.5 s",
            1_000_000L, 0L, long.MaxValue);
        var iotlbOption = CheckedOptions.Whole("--iotlb",
            "IOTLB entries of the in-process unit (0: the unit's default, 262144, rounded up to 393216)", 0, 0, 1 << 26);
        var probeOption = CheckedOptions.Choice("--probe", "IOTLB probe implementation of the in-process unit: auto, vector256, vector128, scalar",
            "auto", "auto", "vector256", "vector128", "scalar");
        var translationOption = CheckedOptions.Choice("--translation",
            "Translation type of the in-process platform: second-level (PGTT 010b), first-level (PGTT 001b, IA-32e) or nested (PGTT 011b); same checksum",
            "second-level", "second-level", "first-level", "nested");
        var atsOption = new Option<bool>("--ats")
        {
            Description = "In-process: the requests go through a device's ATC (DeviceTlb), which asks the unit with ATS translation requests on a miss; same checksum",
        };
        var atcOption = CheckedOptions.Whole("--atc", "ATC entries with --ats (0: as many as the IOTLB's default, 262144)", 0, 0, 1 << 26);
        var iommuOption = CheckedOptions.Choice("--iommu",
            "The in-process IOMMU: vtd (a VT-d remapping unit) or smmuv3 (an Arm SMMUv3 with AArch64 stage 1 tables); same checksum",
            "vtd", "vtd", "smmuv3");
        var writeBodyOption = new Option<string?>("--write-body")
        {
            Description = "Write the first --batch request records of thread 0 (binary POST /translate/batch body, for wrk) to this file and exit",
        };
        var jsonOption = new Option<bool>("--json") { Description = "Print one JSON line with the result on stdout" };

        var root = new RootCommand("Drives the standard translation workloads (docs/workloads.md) and reports translations per second and a checksum.")
        {
            workloadOption, threadsOption, requestsOption, secondsOption, seedOption, modeOption, urlOption, batchOption,
            churnOption, warmupOption, iotlbOption, probeOption, translationOption, atsOption, atcOption, iommuOption, writeBodyOption, jsonOption,
        };

        root.SetAction(parse =>
        {
            if (Validate(parse) is { } problem)
            {
                error.WriteLine("siov-load: " + problem);
                return UsageError;
            }
            if (parse.GetValue(writeBodyOption) is { } bodyPath)
            {
                StandardWorkload bodyWorkload = StandardWorkload.Find(parse.GetValue(workloadOption)!)!;
                File.WriteAllBytes(bodyPath, BatchWire.Body(bodyWorkload, parse.GetValue(seedOption), parse.GetValue(batchOption)));
                Console.Error.WriteLine($"siov-load: wrote {parse.GetValue(batchOption)} {bodyWorkload.Name} request records to {bodyPath}");
                return 0;
            }
            double? seconds = parse.GetValue(secondsOption);
            var options = new LoadOptions(
                StandardWorkload.Find(parse.GetValue(workloadOption)!)!,
                parse.GetValue(threadsOption),
                seconds is null ? parse.GetValue(requestsOption) ?? 10_000_000 : 0,
                seconds ?? 0,
                parse.GetValue(seedOption),
                Enum.Parse<LoadMode>(parse.GetValue(modeOption)!, ignoreCase: true),
                new Uri(parse.GetValue(urlOption)!.TrimEnd('/') + "/"),
                parse.GetValue(batchOption),
                parse.GetValue(churnOption),
                parse.GetValue(warmupOption),
                parse.GetValue(iotlbOption),
                Enum.Parse<Siov.Fast.Caching.IotlbProbePath>(parse.GetValue(probeOption)!, ignoreCase: true),
                parse.GetValue(translationOption) switch
                {
                    "first-level" => Siov.Fast.Workloads.WorkloadTranslation.FirstLevel,
                    "nested" => Siov.Fast.Workloads.WorkloadTranslation.Nested,
                    _ => Siov.Fast.Workloads.WorkloadTranslation.SecondLevel,
                },
                parse.GetValue(jsonOption),
                parse.GetValue(atsOption),
                parse.GetValue(atcOption),
                parse.GetValue(iommuOption) == "smmuv3");
            try
            {
                LoadResult result = options.Mode switch
                {
                    LoadMode.Http => HttpDriver.Run(options),
                    LoadMode.Bare => BareDriver.Run(options),
                    _ => InProcessDriver.Run(options),
                };
                Report.Print(options, result);
                return 0;
            }
            catch (LoadException e)
            {
                error.WriteLine("siov-load: " + e.Message);
                return RunFailed;
            }
        });

        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // One line: System.CommandLine's own messages (an unknown option) may span several.
            error.WriteLine("siov-load: " + string.Join(' ', parsed.Errors[0].Message.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
            return UsageError;
        }
        return parsed.Invoke();

        string? Validate(ParseResult parse)
        {
            if (!Uri.TryCreate(parse.GetValue(urlOption), UriKind.Absolute, out Uri? url) || url.Scheme is not ("http" or "https"))
                return $"--url '{parse.GetValue(urlOption)}' is not an absolute http:// or https:// URL: EINVAL";
            if (parse.GetValue(requestsOption) is not null && parse.GetValue(secondsOption) is not null)
                return "give --requests or --seconds, not both: EINVAL";
            if (parse.GetValue(iommuOption) == "smmuv3" && (parse.GetValue(modeOption) != "inproc" || parse.GetValue(atsOption)
                || parse.GetValue(translationOption) != "second-level" || parse.GetValue(churnOption) > 0))
                return "--iommu smmuv3 runs in process, without --ats, --translation or --churn: EINVAL";
            if (parse.GetValue(atsOption) && parse.GetValue(modeOption) != "inproc")
                return $"--ats needs --mode inproc (the ATC is in this process), not --mode {parse.GetValue(modeOption)}: EINVAL";
            return null;
        }
    }
}
