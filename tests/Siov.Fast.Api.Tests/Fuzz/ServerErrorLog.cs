using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Siov.Fast.Api.Tests.Fuzz;

/// <summary>
/// A logger provider added to the running test server that keeps every logged exception, keyed by the
/// request's trace id (the current activity's id, else the hosting scope's RequestId: the same value the
/// server puts in a problem body's <c>trace_id</c>), so a 500 in the fuzz report can name its cause.
/// </summary>
internal sealed class ServerErrorLog : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentDictionary<string, string> byTrace = new(StringComparer.Ordinal);
    private IExternalScopeProvider? scopes;

    /// <summary>"ExceptionType: message @ first frame in Siov code" for the request with this trace id, if it logged one.</summary>
    public string? For(string? traceId) => traceId != null && byTrace.TryGetValue(traceId, out string? entry) ? entry : null;

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

    public void Dispose()
    {
    }

    private void Record(Exception exception)
    {
        string? requestId = null;
        scopes?.ForEachScope((scope, _) =>
        {
            if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (KeyValuePair<string, object?> pair in pairs)
                {
                    if (pair.Key == "RequestId")
                        requestId = pair.Value?.ToString();
                }
            }
        }, (object?)null);
        string entry = Describe(exception);
        if (Activity.Current?.Id is string activity)
            byTrace.TryAdd(activity, entry);
        if (requestId != null)
            byTrace.TryAdd(requestId, entry);
    }

    private static string Describe(Exception e)
    {
        Exception root = e;
        while (root.InnerException != null && root is AggregateException or System.Reflection.TargetInvocationException)
            root = root.InnerException;
        string frame = (root.StackTrace ?? "").Split('\n').Select(l => l.Trim())
            .FirstOrDefault(l => l.StartsWith("at Siov.", StringComparison.Ordinal)) ?? (root.StackTrace ?? "").Split('\n')[0].Trim();
        int inPos = frame.IndexOf(" in ", StringComparison.Ordinal);
        if (inPos > 0)
            frame = frame[..inPos];
        string inner = root.InnerException != null ? $" (inner {root.InnerException.GetType().Name}: {root.InnerException.Message})" : "";
        return $"{root.GetType().FullName}: {root.Message}{inner} {frame}";
    }

    private sealed class Logger(ServerErrorLog owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception != null && logLevel >= LogLevel.Error)
                owner.Record(exception);
        }
    }
}
