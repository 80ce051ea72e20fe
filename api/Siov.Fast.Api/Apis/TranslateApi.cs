using Siov.Fast.Hardware;
using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Api.Infrastructure.Wire;

namespace Siov.Fast.Api.Apis;

/// <summary>
/// <c>/translate</c> and <c>/translate/batch</c>: DMA translation through the platform's units.
/// </summary>
/// <remarks>
/// Binary batch (<c>Content-Type: application/octet-stream</c>): the body is a sequence of 16-byte
/// little-endian request records, the layout of <see cref="DmaRequest"/>:
/// <c>iova u64 | pasid u32 | requester_id u16 | access u8 (1 read, 2 write, 3 both) | flags u8 (bit 0: PASID present)</c>.
/// The answer is as many 16-byte result records:
/// <c>hpa u64 | page_shift u8 (0 on a fault) | permissions u8 (bit 0 R, bit 1 W) | fault_reason u8 (0 = success) | 5 zero bytes</c>.
/// Requests of segment 0 go to the unit of the device that owns the requester id; unknown requester ids go
/// to the catch-all (INCLUDE_PCI_ALL) unit, which faults them.
/// </remarks>
internal static class TranslateApi
{
    /// <summary>Most requests one batch call may carry (1 MiB of binary records).</summary>
    public const int MaxBatch = 65536;

    /// <summary>Bytes of one binary request or result record.</summary>
    public const int RecordSize = 16;

    // Pools of their own: bounded retention (a few arrays per size), unlike ArrayPool.Shared's per-core stacks.
    private static readonly ArrayPool<DmaRequest> RequestPool = ArrayPool<DmaRequest>.Create(MaxBatch, 4);
    private static readonly ArrayPool<TranslationResult> ResultPool = ArrayPool<TranslationResult>.Create(MaxBatch, 4);

    public static IEndpointRouteBuilder MapTranslateApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/translate", TranslateOne).WithName("Translate").WithTags("translate")
            .WithSummary("Translate one DMA: ?device=BB:DD.F&iova=0x...&pasid=&access=read|write|rw");
        app.MapPost("/translate/batch", TranslateBatch).WithName("TranslateBatch").WithTags("translate")
            .Accepts<TranslateBatchRequest>("application/json", "application/octet-stream")
            .Produces<TranslateBatchResult>(200, "application/json", "application/octet-stream")
            .AllowAnonymous() // a translation changes no mapping: no API key needed
            .WithBodyLimit(int.MaxValue) // the route bounds its own reads (MaxBatch binary records, Siov:Limits:MaxBatchBodyBytes of JSON)
            .WithSummary($"Translate up to {MaxBatch} DMAs: JSON {{requests:[...]}} or 16-byte little-endian binary records (iova u64, pasid u32, rid u16, access u8, flags u8), answered in the same form");
        return app;
    }

    public static Results<Ok<TranslateResultDto>, ProblemHttpResult> TranslateOne(string? device, string? iova, uint? pasid, string? access, PlatformState state)
    {
        DmaRequest request = Parse(new TranslateRequest(device, pasid, iova, access), "");
        return TypedResults.Ok(Dto.Result(state.Platform.Translate(request), state.Platform.UnitFor(request.RequesterId)));
    }

    public static async Task<IResult> TranslateBatch(HttpRequest http, PlatformState state, IOptions<JsonOptions> json)
    {
        CancellationToken cancellation = http.HttpContext.RequestAborted;
        BatchMediaType media = BatchBody.MediaTypeOf(http, binaryAllowed: true);
        int maxBytes = media == BatchMediaType.Binary ? MaxBatch * RecordSize : state.Limits.MaxBatchBodyBytes;
        if (http.ContentLength > maxBytes)
            throw ProblemException.TooLarge($"{http.ContentLength} bytes exceed the batch maximum of {maxBytes} bytes ({MaxBatch} records)");
        // At most MaxBatchesInFlight bodies are read and worked on at once; the others wait with their bodies unread.
        await state.BatchGate.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            using BatchBody body = await BatchBody.ReadAsync(http, maxBytes, cancellation).ConfigureAwait(false);
            if (media == BatchMediaType.Binary)
                return await TranslateBinaryAsync(body, state, http.HttpContext.Response, cancellation).ConfigureAwait(false);
            List<TranslateRequest> items = body.ParseJsonArray<TranslateRequest>("requests", MaxBatch, json.Value.SerializerOptions, cancellation);
            DmaRequest[] requests = RequestPool.Rent(Math.Max(items.Count, 1));
            TranslationResult[] results = ResultPool.Rent(Math.Max(items.Count, 1));
            try
            {
                for (int i = 0; i < items.Count; i++)
                    requests[i] = Parse(items[i], $"requests[{i}].");
                Translate(state, requests.AsSpan(0, items.Count), results);
                await WriteJsonResultsAsync(http.HttpContext.Response, state, results.AsMemory(0, items.Count), cancellation).ConfigureAwait(false);
                return Results.Empty;
            }
            finally
            {
                RequestPool.Return(requests);
                ResultPool.Return(results);
            }
        }
        finally
        {
            state.BatchGate.Release();
        }
    }

    /// <summary>Writes <c>{"results":[...]}</c> straight into the response, with no object per result.</summary>
    private static async Task WriteJsonResultsAsync(HttpResponse response, PlatformState state, ReadOnlyMemory<TranslationResult> results,
        CancellationToken cancellation)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        await using var writer = new Utf8JsonWriter(response.BodyWriter);
        writer.WriteStartObject();
        writer.WriteStartArray("results");
        for (int i = 0; i < results.Length; i++)
        {
            TranslationResult r = results.Span[i];
            writer.WriteStartObject();
            writer.WriteBoolean("ok", r.IsSuccess);
            if (r.IsSuccess)
            {
                writer.WriteString("hpa", Hex.Format(r.Hpa));
                writer.WriteString("page_size", Hex.Format(r.PageSize));
                writer.WriteString("permissions", Hex.Protection(r.Permissions));
            }
            else
            {
                writer.WriteStartObject("fault");
                writer.WriteString("code", "0x" + ((byte)r.Fault).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
                writer.WriteString("reason", Dto.Describe(r, state.Platform.Iommus[0])); // one vendor per platform
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
            if (writer.BytesPending > 32 << 10)
                await writer.FlushAsync(cancellation).ConfigureAwait(false);
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
        await writer.FlushAsync(cancellation).ConfigureAwait(false);
    }

    private static async Task<IResult> TranslateBinaryAsync(BatchBody body, PlatformState state, HttpResponse response, CancellationToken cancellation)
    {
        int length = body.Length;
        if (length % RecordSize != 0)
            return Problems.Invalid($"the body is {length} bytes, not a whole number of {RecordSize}-byte records");
        int count = length / RecordSize;
        DmaRequest[] requests = RequestPool.Rent(Math.Max(count, 1));
        TranslationResult[] results = ResultPool.Rent(Math.Max(count, 1));
        try
        {
            ReadOnlySpan<byte> records = body.Span;
            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<byte> r = records.Slice(i * RecordSize, RecordSize);
                byte access = r[14], flags = r[15];
                uint pasid = BinaryPrimitives.ReadUInt32LittleEndian(r[8..]);
                if (access is 0 or > 3 || flags > 1 || (flags == 1 && pasid >= 1u << 20) || (flags == 0 && pasid != 0))
                    return Problems.Invalid($"record {i} (byte offset {i * RecordSize}): access {access} must be 1-3, flags {flags} 0 or 1, PASID {pasid} below 2^20 and 0 without flag");
                requests[i] = new DmaRequest(BinaryPrimitives.ReadUInt16LittleEndian(r[12..]), flags == 1 ? pasid : null,
                    BinaryPrimitives.ReadUInt64LittleEndian(r), (DmaAccess)access);
            }
            Translate(state, requests.AsSpan(0, count), results);
            // The answer goes straight into the response in chunks: no buffer of the whole answer is allocated.
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/octet-stream";
            response.ContentLength = length;
            const int chunkRecords = 1024;
            for (int first = 0; first < count; first += chunkRecords)
            {
                int n = Math.Min(chunkRecords, count - first);
                Span<byte> chunk = response.BodyWriter.GetSpan(n * RecordSize)[..(n * RecordSize)];
                chunk.Clear();
                for (int i = 0; i < n; i++)
                {
                    Span<byte> o = chunk.Slice(i * RecordSize, RecordSize);
                    TranslationResult t = results[first + i];
                    BinaryPrimitives.WriteUInt64LittleEndian(o, t.Hpa);
                    o[8] = (byte)(t.IsSuccess ? System.Numerics.BitOperations.Log2(t.PageSize) : 0);
                    o[9] = (byte)t.Permissions;
                    o[10] = (byte)t.Fault;
                }
                response.BodyWriter.Advance(n * RecordSize);
                await response.BodyWriter.FlushAsync(cancellation).ConfigureAwait(false);
            }
            return Results.Empty;
        }
        finally
        {
            RequestPool.Return(requests);
            ResultPool.Return(results);
        }
    }

    /// <summary>Translates runs of requests that go to the same unit with the unit's batch call, each request routed as the
    /// platform routes it (tagged with its StreamID where the IORT maps the requester id). The requests are rewritten.</summary>
    private static void Translate(PlatformState state, Span<DmaRequest> requests, Span<TranslationResult> results)
    {
        int start = 0;
        while (start < requests.Length)
        {
            IIommuHardware unit = state.Platform.UnitFor(requests[start].RequesterId);
            int end = start;
            while (end < requests.Length && state.Platform.UnitFor(requests[end].RequesterId) == unit)
            {
                requests[end] = state.Platform.Routed(requests[end]);
                end++;
            }
            unit.Translate(requests[start..end], results[start..end]);
            start = end;
        }
    }

    private static DmaRequest Parse(TranslateRequest r, string prefix)
    {
        PciAddress device = Hex.ParseDevice(r.Device, prefix + "device");
        if (device.Segment != 0)
            throw new IommuException(Errno.EINVAL, $"field '{prefix}device' is {device}: only segment 0 is modelled");
        if (r.Pasid >= 1u << 20)
            throw new IommuException(Errno.EINVAL, $"field '{prefix}pasid' is {r.Pasid}, beyond 20 bits");
        return new DmaRequest(device.RequesterId, r.Pasid, Hex.Parse(r.Iova, prefix + "iova"), Hex.ParseAccess(r.Access, prefix + "access"));
    }
}
