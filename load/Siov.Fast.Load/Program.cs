// The load tool drives the standard workloads of docs/workloads.md against the engine
// (in-process) or the admin server (HTTP). Its options and JSON output are specified in
// the performance issue; until then it prints what it will do.
Console.Error.WriteLine("siov-load: the workload driver is not built yet; see README.md, section Performance.");
return 2;
