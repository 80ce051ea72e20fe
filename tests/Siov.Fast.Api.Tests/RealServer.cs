using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Siov.Fast.Api.Tests;

/// <summary>The real server (Kestrel, not the in-memory test host) as a child process, for tests that need its
/// process: bound addresses, kill -9 and restart.</summary>
internal static partial class RealServer
{
    public static readonly string ServerDll = Path.Combine(AppContext.BaseDirectory, "Siov.Fast.Api.dll");

    /// <summary>Starts the server; returns the process and, once it listens, its first address (null if it exited).</summary>
    public static async Task<(Process Process, string? Address, string Output)> StartAsync(IDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(ServerDll);
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        start.Environment.Remove("SIOV_API_KEY");
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment["Logging__Console__FormatterName"] = "simple";
        foreach ((string key, string value) in environment)
            start.Environment[key] = value;
        var process = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        var listening = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
                output.AppendLine(e.Data);
            if (e.Data != null && ListeningLine().Match(e.Data) is { Success: true } m)
                listening.TrySetResult(m.Groups["address"].Value);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
                output.AppendLine(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Task exited = process.WaitForExitAsync();
        // Bounded: a server that neither listens nor exits within a minute fails the test instead of hanging it.
        Task first = await Task.WhenAny(listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
        string? address = first == listening.Task ? await listening.Task : null;
        if (first == exited)
            await process.WaitForExitAsync(); // flushes the redirected output
        lock (output)
            return (process, address, output.ToString());
    }

    public static void Stop(Process process)
    {
        if (!process.HasExited)
            process.Kill(entireProcessTree: true);
        process.WaitForExit(10_000);
        process.Dispose();
    }

    [GeneratedRegex(@"siov admin server: platform \S+ on (?<address>http://[^,;\s]+)")]
    private static partial Regex ListeningLine();
}
