using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Workloads;

namespace Siov.Fast.Load;

/// <summary>
/// Drives the admin server's binary batch endpoint, <c>POST {url}/translate/batch</c> with
/// <c>Content-Type: application/octet-stream</c>: the body is the batch's request records, the
/// response the result records, one per request, in order (layouts in <see cref="BatchWire"/>).
/// </summary>
/// <remarks>
/// Before the timed phase, <see cref="HttpSetup"/> creates the workload's domains and mappings on the
/// server's default platform over the admin API (set-up time is not counted). Each worker thread keeps one request in
/// flight on its own pooled connection (synchronous <see cref="HttpClient.Send(HttpRequestMessage)"/>).
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
        HttpSetup.Ensure(client, options.Workload);
        var (requests, seconds, checksum, faults) = Harness.Run(options,
            (_, stream) => new HttpWorker(client, options.Workload, stream, options.Batch));
        return new LoadResult(requests, seconds, checksum, faults, null, 0);
    }

    private sealed class HttpWorker(HttpClient client, StandardWorkload workload, ulong stream, int batch) : Worker
    {
        private static readonly MediaTypeHeaderValue s_octetStream = new("application/octet-stream");
        private readonly DmaRequest[] _requests = new DmaRequest[batch];
        private readonly byte[] _body = new byte[batch * BatchWire.RecordSize];
        private readonly byte[] _response = new byte[batch * BatchWire.RecordSize];
        private SplitMix64 _random = new(stream);

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
            using var message = new HttpRequestMessage(HttpMethod.Post, "translate/batch")
            {
                Content = new ByteArrayContent(_body, 0, n * BatchWire.RecordSize),
            };
            message.Content.Headers.ContentType = s_octetStream;
            HttpResponseMessage response;
            try
            {
                response = client.Send(message, HttpCompletionOption.ResponseHeadersRead);
            }
            catch (HttpRequestException e)
            {
                throw new LoadException($"http mode: cannot reach {client.BaseAddress}: {e.Message} (start the admin server)");
            }
            using (response)
            {
                if (response.StatusCode == HttpStatusCode.NotFound)
                    throw new LoadException("http mode needs the admin server: POST /translate/batch answered 404");
                if (!response.IsSuccessStatusCode)
                    throw new LoadException($"http mode: POST /translate/batch answered {(int)response.StatusCode} {response.ReasonPhrase}");
                using Stream body = response.Content.ReadAsStream();
                int expected = n * BatchWire.RecordSize, read = 0;
                while (read < expected)
                {
                    int got = body.Read(_response, read, expected - read);
                    if (got == 0)
                        break;
                    read += got;
                }
                if (read != expected || body.ReadByte() != -1)
                    throw new LoadException($"http mode: POST /translate/batch returned a body that is not {n} result records of {BatchWire.RecordSize} bytes");
            }
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
