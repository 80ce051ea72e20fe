using System.Buffers;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>
/// A batch request body read whole into a pooled buffer of at most a given size: the declared length was checked
/// before (<see cref="BodyLimitMiddleware"/>), and a body without one is cut at the limit while it is read (413 E2BIG).
/// Dispose returns the buffer.
/// </summary>
internal sealed class BatchBody : IDisposable
{
    /// <summary>Body buffers: a pool of its own, so what it keeps is bounded (a few buffers per size, not one per
    /// thread and core as <see cref="ArrayPool{T}.Shared"/> may keep).</summary>
    internal static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(maxArrayLength: 16 << 20, maxArraysPerBucket: 4);

    private byte[]? _buffer;

    private BatchBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    /// <summary>The media type of a batch request: JSON or binary records; anything else (none, several, malformed,
    /// another type) is 415.</summary>
    public static BatchMediaType MediaTypeOf(HttpRequest request, bool binaryAllowed)
    {
        string expected = binaryAllowed ? "application/json or application/octet-stream" : "application/json";
        string? header = request.ContentType;
        if (string.IsNullOrWhiteSpace(header) || !MediaTypeHeaderValue.TryParse(header, out MediaTypeHeaderValue? type) || type.MediaType == null)
            throw ProblemException.UnsupportedMediaType($"Content-Type '{header}' is not one media type; this route reads {expected}");
        string media = type.MediaType;
        if (media.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (media.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && media.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
            return BatchMediaType.Json;
        if (binaryAllowed && media.Equals("application/octet-stream", StringComparison.OrdinalIgnoreCase))
            return BatchMediaType.Binary;
        throw ProblemException.UnsupportedMediaType($"Content-Type '{media}' is not read here; this route reads {expected}");
    }

    /// <summary>Reads the body, at most <paramref name="maxBytes"/> bytes.</summary>
    /// <exception cref="ProblemException">413 E2BIG when the body is longer.</exception>
    public static async Task<BatchBody> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellation)
    {
        if (request.ContentLength > maxBytes)
            throw ProblemException.TooLarge($"the body is {request.ContentLength} bytes; at most {maxBytes} are read");
        // Rent what the declared length needs (the whole limit only for a body without one).
        int initial = (int)Math.Min(maxBytes + 1L, (request.ContentLength ?? maxBytes) + 1);
        byte[] buffer = Pool.Rent(Math.Max(initial, 256));
        int length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > maxBytes)
                        break;
                    byte[] larger = Pool.Rent((int)Math.Min(maxBytes + 1L, buffer.Length * 2L));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    Pool.Return(buffer);
                    buffer = larger;
                }
                int read = await request.Body.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, maxBytes + 1) - length), cancellation).ConfigureAwait(false);
                if (read == 0)
                    break;
                length += read;
                if (length > maxBytes)
                    break;
            }
            if (length > maxBytes)
                throw ProblemException.TooLarge($"the body is longer than the {maxBytes} bytes this route reads");
            var body = new BatchBody(buffer, length);
            buffer = null!;
            return body;
        }
        finally
        {
            if (buffer != null)
                Pool.Return(buffer);
        }
    }

    /// <summary>
    /// Parses <c>{"<paramref name="arrayName"/>": [item, ...]}</c>, one item at a time, refusing the
    /// <paramref name="maxItems"/>+1-th item as soon as it starts (413 E2BIG), so nothing is built for records
    /// past the cap. Other top-level properties are skipped. Errors name the item: <c>requests[12]: ...</c>.
    /// </summary>
    public List<T> ParseJsonArray<T>(string arrayName, int maxItems, JsonSerializerOptions options, CancellationToken cancellation)
    {
        var reader = new Utf8JsonReader(Span, new JsonReaderOptions { MaxDepth = 16 });
        var items = new List<T>();
        bool found = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new IommuException(Errno.EINVAL, $"the body must be a JSON object {{\"{arrayName}\": [...]}}");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool ours = reader.ValueTextEquals(arrayName);
                reader.Read();
                if (!ours)
                {
                    reader.Skip();
                    continue;
                }
                if (reader.TokenType != JsonTokenType.StartArray)
                    throw new IommuException(Errno.EINVAL, $"'{arrayName}' must be an array");
                found = true;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (items.Count == maxItems)
                        throw ProblemException.TooLarge($"'{arrayName}' holds {maxItems + 1} or more items, over the batch maximum of {maxItems}");
                    if ((items.Count & 4095) == 0)
                        cancellation.ThrowIfCancellationRequested();
                    if (reader.TokenType != JsonTokenType.StartObject)
                        throw new IommuException(Errno.EINVAL, $"{arrayName}[{items.Count}] is {Describe(reader.TokenType)}, not an object");
                    try
                    {
                        items.Add(JsonSerializer.Deserialize<T>(ref reader, options)!);
                    }
                    catch (JsonException e)
                    {
                        throw new IommuException(Errno.EINVAL, $"{arrayName}[{items.Count}]: {JsonErrors.Describe(e, $"$.{arrayName}[{items.Count}]")}");
                    }
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                throw new IommuException(Errno.EINVAL, "the body holds more than one JSON object");
        }
        catch (JsonException e)
        {
            throw new IommuException(Errno.EINVAL, "malformed JSON: " + JsonErrors.Describe(e));
        }
        if (!found)
            throw new IommuException(Errno.EINVAL, $"the body must be {{\"{arrayName}\": [...]}}");
        return items;
    }

    public void Dispose()
    {
        byte[]? buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer != null)
            Pool.Return(buffer);
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.Null => "null",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        _ => token.ToString(),
    };
}
