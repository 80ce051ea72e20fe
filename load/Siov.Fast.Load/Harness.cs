using System.Diagnostics;
using System.Globalization;

namespace Siov.Fast.Load;

/// <summary>One worker thread's request stream and its running checksum.</summary>
internal abstract class Worker
{
    public ulong Checksum;
    public long Faults;

    /// <summary>Translates the next <paramref name="count"/> requests of the stream and adds them to the checksum.</summary>
    public abstract void Run(int count);
}

/// <summary>
/// Runs one worker per thread: an untimed warm-up on another stream, a start barrier, then the
/// timed phase (a request count or a deadline). Prints progress on stderr once a second.
/// </summary>
internal static class Harness
{
    /// <summary>The warm-up streams start at <c>(seed ^ WarmupSeedMask) + thread</c>, apart from the measured ones.</summary>
    public const ulong WarmupSeedMask = 0xA5A5_A5A5_A5A5_A5A5;

    /// <summary>The shortest warm-up: tiered compilation waits 100 ms after a method's first calls
    /// before it compiles the optimized code, and then compiles in the background.</summary>
    public const double WarmupSeconds = 0.5;

    // Requests between two looks at the clock and two progress updates.
    private const int Chunk = 1 << 16;

    /// <param name="options">The run.</param>
    /// <param name="create">Makes thread t's worker for a stream starting at the given seed.</param>
    /// <param name="onStart">Runs on the main thread just before the clock starts (e.g. snapshot counters, start a writer).</param>
    /// <param name="onStop">Runs on the main thread just after the last worker has stopped.</param>
    public static (long Requests, double Seconds, ulong Checksum, long Faults) Run(
        LoadOptions options, Func<int, ulong, Worker> create, Action? onStart = null, Action? onStop = null)
    {
        int threads = options.Threads;
        var workers = new Worker[threads];
        var done = new long[threads * 16]; // one 128-byte line per thread
        var endTicks = new long[threads];
        using var ready = new CountdownEvent(threads);
        using var go = new ManualResetEventSlim(false);
        long deadline = long.MaxValue;
        var failures = new Exception?[threads];

        var pool = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int thread = t;
            pool[t] = new Thread(() =>
            {
                try
                {
                    Worker warm = create(thread, (options.Seed ^ WarmupSeedMask) + (ulong)thread);
                    // At least the asked count, and (unless it is 0) at least WarmupSeconds, so that
                    // tiered compilation has replaced the first, unoptimized code before the clock starts.
                    long warmStart = Stopwatch.GetTimestamp();
                    for (long left = options.WarmupPerThread; left > 0
                        || (options.WarmupPerThread > 0 && Stopwatch.GetElapsedTime(warmStart).TotalSeconds < WarmupSeconds); left -= Chunk)
                        warm.Run((int)(left > 0 ? Math.Min(Chunk, left) : Chunk));
                    workers[thread] = create(thread, options.Seed + (ulong)thread);
                }
                catch (Exception e)
                {
                    failures[thread] = e;
                }
                ready.Signal();
                go.Wait();
                if (failures[thread] != null)
                    return;
                try
                {
                    Worker worker = workers[thread];
                    long count = 0;
                    long target = options.RequestsPerThread > 0 ? options.RequestsPerThread : long.MaxValue;
                    while (count < target && Stopwatch.GetTimestamp() < Volatile.Read(ref deadline))
                    {
                        int n = (int)Math.Min(Chunk, target - count);
                        worker.Run(n);
                        count += n;
                        Volatile.Write(ref done[thread * 16], count);
                    }
                }
                catch (Exception e)
                {
                    failures[thread] = e;
                }
                endTicks[thread] = Stopwatch.GetTimestamp();
            })
            { IsBackground = true, Name = $"load-{t}" };
            pool[t].Start();
        }

        ready.Wait();
        if (failures.FirstOrDefault(f => f != null) is { } setupFailure)
        {
            go.Set();
            throw Unwrap(setupFailure);
        }
        onStart?.Invoke();
        TimeSpan cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        long start = Stopwatch.GetTimestamp();
        if (options.Seconds > 0)
            Volatile.Write(ref deadline, start + (long)(options.Seconds * Stopwatch.Frequency));
        go.Set();

        long lastDone = 0, lastTicks = start;
        while (!pool.All(p => p.Join(0)))
        {
            if (pool.All(p => p.Join(1000)))
                break;
            long now = Stopwatch.GetTimestamp();
            long total = 0;
            for (int t = 0; t < threads; t++)
                total += Volatile.Read(ref done[t * 16]);
            double interval = (double)(now - lastTicks) / Stopwatch.Frequency;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{(double)(now - start) / Stopwatch.Frequency,6:F1} s] {total / 1e6,10:F1} M requests, {(total - lastDone) / interval / 1e6,8:F2} M/s"));
            lastDone = total;
            lastTicks = now;
        }
        long end = endTicks.Max();
        CpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;
        onStop?.Invoke();
        if (failures.FirstOrDefault(f => f != null) is { } failure)
            throw Unwrap(failure);

        long requests = 0;
        ulong checksum = 0;
        long faults = 0;
        for (int t = 0; t < threads; t++)
        {
            requests += Volatile.Read(ref done[t * 16]);
            checksum = unchecked(checksum + workers[t].Checksum);
            faults += workers[t].Faults;
        }
        return (requests, (double)(end - start) / Stopwatch.Frequency, checksum, faults);
    }

    /// <summary>Processor time the whole process used during the last timed phase (every thread, the
    /// progress thread's wake-ups included): wall time minus the time other processes took the cores.</summary>
    public static double CpuSeconds { get; private set; }

    private static Exception Unwrap(Exception e) => e is AggregateException { InnerException: { } inner } ? inner : e;
}
