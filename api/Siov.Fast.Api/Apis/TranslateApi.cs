using System.Buffers;
using System.Buffers.Binary;
using Microsoft.AspNetCore.Http.HttpResults;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Remapping;

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

    public static IEndpointRouteBuilder MapTranslateApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/translate", TranslateOne).WithName("Translate").WithTags("translate")
            .WithSummary("Translate one DMA: ?device=BB:DD.F&iova=0x...&pasid=&access=read|write|rw");
        app.MapPost("/translate/batch", TranslateBatch).WithName("TranslateBatch").WithTags("translate")
            .Accepts<TranslateBatchRequest>("application/json", "application/octet-stream")
            .Produces<TranslateBatchResult>(200, "application/json", "application/octet-stream")
            .WithSummary($"Translate up to {MaxBatch} DMAs: JSON {{requests:[...]}} or 16-byte little-endian binary records (iova u64, pasid u32, rid u16, access u8, flags u8), answered in the same form");
        return app;
    }

    public static Results<Ok<TranslateResultDto>, ProblemHttpResult> TranslateOne(string? device, string? iova, uint? pasid, string? access, PlatformState state)
    {
        DmaRequest request = Parse(new TranslateRequest(device, pasid, iova, access), "");
        return TypedResults.Ok(Dto.Result(state.Platform.UnitFor(request.RequesterId).Translate(request)));
    }

    public static async Task<IResult> TranslateBatch(HttpRequest http, PlatformState state)
    {
        if (http.ContentType?.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase) == true)
            return await TranslateBinary(http, state).ConfigureAwait(false);
        TranslateBatchRequest? body = await http.ReadFromJsonAsync<TranslateBatchRequest>().ConfigureAwait(false);
        TranslateRequest[] items = body?.Requests ?? throw new IommuException(Errno.EINVAL, "the body must be {\"requests\": [...]}");
        if (items.Length > MaxBatch)
            return Problems.TooLarge($"{items.Length} requests exceed the batch maximum of {MaxBatch}");
        DmaRequest[] requests = [.. items.Select((r, i) => Parse(r ?? throw new IommuException(Errno.EINVAL, $"requests[{i}] is null"), $"requests[{i}]."))];
        var results = new TranslationResult[requests.Length];
        Translate(state, requests, results);
        return TypedResults.Ok(new TranslateBatchResult([.. results.Select(Dto.Result)]));
    }

    private static async Task<IResult> TranslateBinary(HttpRequest http, PlatformState state)
    {
        const int maxBytes = MaxBatch * RecordSize;
        if (http.ContentLength > maxBytes)
            return Problems.TooLarge($"{http.ContentLength} bytes exceed the batch maximum of {MaxBatch} records ({maxBytes} bytes)");
        byte[] body = ArrayPool<byte>.Shared.Rent(maxBytes + 1);
        DmaRequest[] requests = ArrayPool<DmaRequest>.Shared.Rent(MaxBatch);
        TranslationResult[] results = ArrayPool<TranslationResult>.Shared.Rent(MaxBatch);
        try
        {
            int length = 0;
            while (length <= maxBytes)
            {
                int read = await http.Body.ReadAsync(body.AsMemory(length, maxBytes + 1 - length)).ConfigureAwait(false);
                if (read == 0)
                    break;
                length += read;
            }
            if (length > maxBytes)
                return Problems.TooLarge($"the body exceeds the batch maximum of {MaxBatch} records ({maxBytes} bytes)");
            if (length % RecordSize != 0)
                return Problems.Invalid($"the body is {length} bytes, not a whole number of {RecordSize}-byte records");
            int count = length / RecordSize;
            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<byte> r = body.AsSpan(i * RecordSize, RecordSize);
                byte access = r[14], flags = r[15];
                uint pasid = BinaryPrimitives.ReadUInt32LittleEndian(r[8..]);
                if (access is 0 or > 3 || flags > 1 || (flags == 1 && pasid >= 1u << 20) || (flags == 0 && pasid != 0))
                    return Problems.Invalid($"record {i} (byte offset {i * RecordSize}): access {access} must be 1-3, flags {flags} 0 or 1, PASID {pasid} below 2^20 and 0 without flag");
                requests[i] = new DmaRequest(BinaryPrimitives.ReadUInt16LittleEndian(r[12..]), flags == 1 ? pasid : null,
                    BinaryPrimitives.ReadUInt64LittleEndian(r), (DmaAccess)access);
            }
            Translate(state, requests.AsSpan(0, count), results);
            byte[] answer = new byte[length];
            for (int i = 0; i < count; i++)
            {
                Span<byte> o = answer.AsSpan(i * RecordSize, RecordSize);
                TranslationResult t = results[i];
                BinaryPrimitives.WriteUInt64LittleEndian(o, t.Hpa);
                o[8] = (byte)(t.IsSuccess ? System.Numerics.BitOperations.Log2(t.PageSize) : 0);
                o[9] = (byte)t.Permissions;
                o[10] = (byte)t.Fault;
            }
            return TypedResults.Bytes(answer, "application/octet-stream");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
            ArrayPool<DmaRequest>.Shared.Return(requests);
            ArrayPool<TranslationResult>.Shared.Return(results);
        }
    }

    /// <summary>Translates runs of requests that go to the same unit with the unit's batch call.</summary>
    private static void Translate(PlatformState state, ReadOnlySpan<DmaRequest> requests, Span<TranslationResult> results)
    {
        int start = 0;
        while (start < requests.Length)
        {
            RemappingUnit unit = state.Platform.UnitFor(requests[start].RequesterId);
            int end = start + 1;
            while (end < requests.Length && state.Platform.UnitFor(requests[end].RequesterId) == unit)
                end++;
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
