using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using HdrHistogram;
using Siov.Fast.Client;
using Siov.Fast.Workloads;

namespace Siov.Fast.Load;

/// <summary>
/// Drives the admin server's binary batch endpoint, <c>POST {url}/translate/batch</c> with
/// <c>Content-Type: application/octet-stream</c>, through <see cref="SiovClient.TranslateBatch"/>: the body is the
/// batch's request records, the response the result records, one per request, in order (layouts in <see cref="BatchWire"/>).
/// </summary>
/// <remarks>
/// Before the timed phase, <see cref="HttpSetup"/> creates the workload's domains and mappings on the
/// server's default platform over the admin API (set-up time is not counted). Each worker thread keeps one request in
/// flight on its own pooled connection (synchronous <see cref="HttpClient.Send(HttpRequestMessage)"/>), reuses its
/// request and result buffers, and records each call's time in its own HdrHistogram (reset when the clock starts, so
/// warm-up calls are not counted): the run reports their percentiles (<see cref="LatencySummary"/>).
/// A 404 from the endpoint stops the run with "http mode needs the admin server".
/// </remarks>
internal static class HttpDriver
{
    public static LoadResult Run(LoadOptions options)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = Math.Max(2, options.Threads * 2),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        };
        using var client = new HttpClient(handler) { BaseAddress = options.Url, Timeout = TimeSpan.FromSeconds(120) };
        var siov = new SiovClient(client);
        HttpSetup.Ensure(siov, options.Workload);
        var workers = new List<HttpWorker>();
        var (requests, seconds, checksum, faults) = Harness.Run(options,
            (_, stream) =>
            {
                var worker = new HttpWorker(siov, options.Workload, stream, options.Batch);
                lock (workers)
                    workers.Add(worker);
                return worker;
            },
            onStart: () =>
            {
                // Workers wait at the start barrier: their histograms are theirs to reset, from warm-up to timed phase.
                lock (workers)
                {
                    foreach (HttpWorker w in workers)
                        w.Latency.Reset();
                }
            });
        LatencySummary latency;
        lock (workers)
            latency = LatencySummary.Of(workers.Select(w => w.Latency));
        return new LoadResult(requests, seconds, checksum, faults, null, 0, BatchLatency: latency);
    }

    private sealed class HttpWorker(SiovClient siov, StandardWorkload workload, ulong stream, int batch) : Worker
    {
        private readonly DmaRequest[] _requests = new DmaRequest[batch];
        private readonly byte[] _body = new byte[batch * BatchWire.RecordSize];
        private readonly byte[] _response = new byte[batch * BatchWire.RecordSize];
        private SplitMix64 _random = new(stream);

        /// <summary>This worker's call times in Stopwatch ticks.</summary>
        public LongHistogram Latency { get; } = LatencySummary.NewHistogram();

        public override void Run(int count)
        {
            while (count > 0)
            {
                int n = Math.Min(_requests.Length, count);
                workload.Fill(ref _random, _requests.AsSpan(0, n));
                for (int k = 0; k < n; k++)
                    BatchWire.WriteRequest(_body.AsSpan(k * BatchWire.RecordSize), _requests[k]);
                Post(n);
                for (int k = 0; k < n; k++)
                {
                    (ulong hpa, byte fault) = BatchWire.ReadResult(_response.AsSpan(k * BatchWire.RecordSize));
                    if (fault == 0)
                        Checksum = unchecked(Checksum + hpa);
                    else
                        Faults++;
                }
                count -= n;
            }
        }

        private void Post(int n)
        {
            long started = Stopwatch.GetTimestamp();
            try
            {
                siov.TranslateBatch(_body, n * BatchWire.RecordSize, _response);
            }
            catch (HttpRequestException e)
            {
                throw new LoadException($"http mode: cannot reach {siov.BaseAddress}: {e.Message} (start the admin server)");
            }
            catch (SiovApiException e) when (e.Status == (int)HttpStatusCode.NotFound)
            {
                throw new LoadException("http mode needs the admin server: POST /translate/batch answered 404");
            }
            catch (SiovApiException e)
            {
                throw new LoadException($"http mode: POST /translate/batch answered {e.Message}");
            }
            Latency.RecordValue(Math.Min(Stopwatch.GetTimestamp() - started, LatencySummary.HighestTicks));
        }
    }
}

/// <summary>
/// The binary records of <c>POST /translate/batch</c>, little-endian, 16 bytes each.
/// Request: IOVA u64 (bytes 0-7), PASID u32 (8-11), requester id u16 (12-13), access u8 (14:
/// 1 read, 2 write, 3 both), flags u8 (15: bit 0 = PASID present): the in-memory layout of
/// <see cref="DmaRequest"/>. Response: HPA u64 (0-7, page offset included, 0 on a fault), page
/// shift u8 (8), permissions u8 (9: bit 0 R, bit 1 W), fault reason u8 (10: 0 = none, else the
/// VT-d fault reason code), 5 reserved zero bytes (11-15): the layout of <see cref="TranslationResult"/>.
/// </summary>
internal static class BatchWire
{
    public const int RecordSize = 16;

    public static void WriteRequest(Span<byte> record, in DmaRequest request)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(record, request.Iova);
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], request.Pasid);
        BinaryPrimitives.WriteUInt16LittleEndian(record[12..], request.RequesterId);
        record[14] = (byte)request.Access;
        record[15] = request.HasPasid ? (byte)1 : (byte)0;
    }

    /// <summary>A request body: the first <paramref name="count"/> requests of thread 0's stream.</summary>
    public static byte[] Body(StandardWorkload workload, ulong seed, int count)
    {
        var random = SplitMix64.ForThread(seed, 0);
        var requests = new DmaRequest[count];
        workload.Fill(ref random, requests);
        var body = new byte[count * RecordSize];
        for (int k = 0; k < count; k++)
            WriteRequest(body.AsSpan(k * RecordSize), requests[k]);
        return body;
    }

    public static (ulong Hpa, byte Fault) ReadResult(ReadOnlySpan<byte> record) =>
        (BinaryPrimitives.ReadUInt64LittleEndian(record), record[10]);
}
