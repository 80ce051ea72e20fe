using System.CommandLine;
using System.Globalization;
using Siov.Fast.Load;
using Siov.Fast.Workloads;

// siov-load: drives the standard workloads of docs/workloads.md against the engine in this
// process, against the admin server's binary batch endpoint, or against a bare array (the
// lower bound). Progress on stderr once a second; with --json one JSON line on stdout.
//   dotnet run -c Release --project load/Siov.Fast.Load -- --workload hot4k --threads 1 --requests 50000000 --json

var workloadOption = new Option<string>("--workload")
{
    Description = "hot4k, cold4k, huge2m or siov64 (docs/workloads.md)",
    DefaultValueFactory = _ => "hot4k",
};
workloadOption.AcceptOnlyFromAmong([.. StandardWorkload.All.Select(w => w.Name)]);
var threadsOption = new Option<int>("--threads") { Description = "Worker threads (thread t draws from seed + t)", DefaultValueFactory = _ => 1 };
var requestsOption = new Option<long?>("--requests") { Description = "Requests per thread (default 10,000,000 unless --seconds)" };
var secondsOption = new Option<double?>("--seconds") { Description = "Run for this many seconds instead of a request count" };
var seedOption = new Option<ulong>("--seed") { Description = "Seed of the request streams", DefaultValueFactory = _ => 42 };
var modeOption = new Option<string>("--mode")
{
    Description = "inproc (engine in this process), http (admin server), bare (one array load per request: the lower bound)",
    DefaultValueFactory = _ => "inproc",
};
modeOption.AcceptOnlyFromAmong("inproc", "http", "bare");
var urlOption = new Option<string>("--url") { Description = "Admin server base URL (http mode)", DefaultValueFactory = _ => "http://127.0.0.1:5080/" };
var batchOption = new Option<int>("--batch") { Description = "Requests per batch call (1: one Translate call per request)", DefaultValueFactory = _ => 256 };
var churnOption = new Option<double>("--churn")
{
    Description = "Map/unmap operations per second by a writer thread in an IOVA range the requests never touch (inproc)",
    DefaultValueFactory = _ => 0,
};
var warmupOption = new Option<long>("--warmup")
{
    Description = "Untimed, unchecked requests per thread before the run (another stream), to compile and warm caches; when not 0, it also lasts at least 0.5 s",
    DefaultValueFactory = _ => 1_000_000,
};
var iotlbOption = new Option<int>("--iotlb")
{
    Description = "IOTLB entries of the in-process unit (0: the unit's default, 262144, rounded up to 393216)",
    DefaultValueFactory = _ => 0,
};
var probeOption = new Option<string>("--probe")
{
    Description = "IOTLB probe implementation of the in-process unit: auto, vector256, vector128, scalar",
    DefaultValueFactory = _ => "auto",
};
probeOption.AcceptOnlyFromAmong("auto", "vector256", "vector128", "scalar");
var translationOption = new Option<string>("--translation")
{
    Description = "Translation type of the in-process platform: second-level (PGTT 010b), first-level (PGTT 001b, IA-32e) or nested (PGTT 011b); same checksum",
    DefaultValueFactory = _ => "second-level",
};
translationOption.AcceptOnlyFromAmong("second-level", "first-level", "nested");
var writeBodyOption = new Option<string?>("--write-body")
{
    Description = "Write the first --batch request records of thread 0 (binary POST /translate/batch body, for wrk) to this file and exit",
};
var jsonOption = new Option<bool>("--json") { Description = "Print one JSON line with the result on stdout" };

var root = new RootCommand("Drives the standard translation workloads (docs/workloads.md) and reports translations per second and a checksum.")
{
    workloadOption, threadsOption, requestsOption, secondsOption, seedOption, modeOption, urlOption, batchOption,
    churnOption, warmupOption, iotlbOption, probeOption, translationOption, writeBodyOption, jsonOption,
};

root.SetAction(parse =>
{
    if (Validate(parse) is { } error)
    {
        Console.Error.WriteLine("siov-load: " + error);
        return 1;
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
        parse.GetValue(jsonOption));
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
        Console.Error.WriteLine("siov-load: " + e.Message);
        return 3;
    }
});

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
return root.Parse(args).Invoke();

string? Validate(ParseResult parse)
{
    if (!Uri.TryCreate(parse.GetValue(urlOption), UriKind.Absolute, out Uri? url) || url.Scheme is not ("http" or "https"))
        return "--url must be an absolute http:// or https:// URL";
    if (parse.GetValue(threadsOption) < 1)
        return "--threads must be at least 1";
    if (parse.GetValue(batchOption) is < 1 or > 1_048_576)
        return "--batch must be 1 to 1048576";
    if (parse.GetValue(requestsOption) is < 1)
        return "--requests must be at least 1";
    if (parse.GetValue(secondsOption) is { } s && !(s > 0))
        return "--seconds must be above 0";
    if (parse.GetValue(requestsOption) is not null && parse.GetValue(secondsOption) is not null)
        return "give --requests or --seconds, not both";
    if (parse.GetValue(churnOption) < 0)
        return "--churn must not be negative";
    if (parse.GetValue(iotlbOption) is < 0 or > 1 << 26)
        return "--iotlb must be 0 (default) to 67108864 entries";
    if (parse.GetValue(warmupOption) < 0)
        return "--warmup must not be negative";
    return null;
}
