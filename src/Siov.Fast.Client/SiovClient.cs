using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Siov.Fast.Client;

/// <summary>
/// A typed client of the Siov.Fast admin server over an <see cref="HttpClient"/> whose <see cref="HttpClient.BaseAddress"/>
/// is the server (e.g. <c>http://127.0.0.1:5080/</c>). Every call that the server answers with an error throws
/// <see cref="SiovApiException"/> with the problem body's errno <c>code</c>; a server that cannot be reached throws
/// <see cref="HttpRequestException"/>.
/// </summary>
/// <remarks>The client does not own the <see cref="HttpClient"/>. It is thread-safe when the <see cref="HttpClient"/> is.</remarks>
public sealed class SiovClient
{
    /// <summary>Bytes of one binary request or result record of <c>POST /translate/batch</c>.</summary>
    public const int BatchRecordSize = 16;

    /// <summary>The header the API key travels in, for mutating calls on a server that requires one.</summary>
    public const string ApiKeyHeader = "X-Api-Key";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");

    private readonly HttpClient _http;

    /// <summary>A client over <paramref name="http"/>, whose base address is the server.</summary>
    public SiovClient(HttpClient http)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
    }

    /// <summary>The server this client talks to.</summary>
    public Uri? BaseAddress => _http.BaseAddress;

    /// <summary><c>GET /devices/{bdf}</c>.</summary>
    public Task<DeviceInfo> GetDeviceAsync(string bdf, CancellationToken cancellation = default) =>
        SendAsync<DeviceInfo>(HttpMethod.Get, "devices/" + bdf, null, cancellation);

    /// <summary><c>POST /devices/{bdf}/features/aux</c>: iommu_dev_enable_feature(IOMMU_DEV_FEAT_AUX).</summary>
    public Task<AuxFeature> EnableAuxAsync(string bdf, CancellationToken cancellation = default) =>
        SendAsync<AuxFeature>(HttpMethod.Post, $"devices/{bdf}/features/aux", null, cancellation);

    /// <summary><c>GET /groups/{id}</c>.</summary>
    public Task<GroupInfo> GetGroupAsync(int id, CancellationToken cancellation = default) =>
        SendAsync<GroupInfo>(HttpMethod.Get, "groups/" + Number(id), null, cancellation);

    /// <summary><c>POST /domains</c>: iommu_domain_alloc of <paramref name="type"/> (BLOCKED, IDENTITY, UNMANAGED or DMA).</summary>
    public Task<DomainInfo> CreateDomainAsync(string type = "UNMANAGED", CancellationToken cancellation = default) =>
        SendAsync<DomainInfo>(HttpMethod.Post, "domains", new { type }, cancellation);

    /// <summary><c>GET /domains/{id}</c>.</summary>
    public Task<DomainInfo> GetDomainAsync(int id, CancellationToken cancellation = default) =>
        SendAsync<DomainInfo>(HttpMethod.Get, "domains/" + Number(id), null, cancellation);

    /// <summary><c>POST /domains/{id}/mappings</c>: iommu_map.</summary>
    public Task<Mapping> MapAsync(int domain, Mapping mapping, CancellationToken cancellation = default) =>
        SendAsync<Mapping>(HttpMethod.Post, $"domains/{Number(domain)}/mappings", mapping, cancellation);

    /// <summary><c>POST /domains/{id}/mappings/batch</c>: many iommu_map calls, all or nothing (at most 65536).</summary>
    public Task<MapBatchResult> MapBatchAsync(int domain, IEnumerable<Mapping> mappings, CancellationToken cancellation = default) =>
        SendAsync<MapBatchResult>(HttpMethod.Post, $"domains/{Number(domain)}/mappings/batch", new { mappings }, cancellation);

    /// <summary><c>POST /domains/{id}/attachments</c>.</summary>
    public Task<Attachment> AttachAsync(int domain, AttachRequest request, CancellationToken cancellation = default) =>
        SendAsync<Attachment>(HttpMethod.Post, $"domains/{Number(domain)}/attachments", request, cancellation);

    /// <summary><c>POST /mdevs</c>: creates an mdev of <paramref name="type"/> on <paramref name="parent"/> (a UUID is chosen when none is given).</summary>
    public Task<Mdev> CreateMdevAsync(string parent, string type, string? uuid = null, CancellationToken cancellation = default) =>
        SendAsync<Mdev>(HttpMethod.Post, "mdevs", new { parent, type, uuid }, cancellation);

    /// <summary><c>GET /mdevs/{uuid}</c>.</summary>
    public Task<Mdev> GetMdevAsync(string uuid, CancellationToken cancellation = default) =>
        SendAsync<Mdev>(HttpMethod.Get, "mdevs/" + uuid, null, cancellation);

    /// <summary><c>POST /containers</c>: opens a VFIO type1 container.</summary>
    public Task<ContainerInfo> CreateContainerAsync(CancellationToken cancellation = default) =>
        SendAsync<ContainerInfo>(HttpMethod.Post, "containers", null, cancellation);

    /// <summary><c>POST /containers/{id}/groups</c>: vfio_iommu_type1_attach_group (mdev groups are aux-attached).</summary>
    public Task<ContainerInfo> AttachGroupAsync(int container, int group, CancellationToken cancellation = default) =>
        SendAsync<ContainerInfo>(HttpMethod.Post, $"containers/{Number(container)}/groups", new { group }, cancellation);

    /// <summary><c>DELETE /containers/{id}/groups/{group}</c>: vfio_iommu_type1_detach_group.</summary>
    public Task DetachGroupAsync(int container, int group, CancellationToken cancellation = default) =>
        SendAsync<JsonElement?>(HttpMethod.Delete, $"containers/{Number(container)}/groups/{Number(group)}", null, cancellation);

    /// <summary><c>POST /containers/{id}/dma</c>: VFIO_IOMMU_MAP_DMA into every domain of the container.</summary>
    public Task<Mapping> MapDmaAsync(int container, Mapping mapping, CancellationToken cancellation = default) =>
        SendAsync<Mapping>(HttpMethod.Post, $"containers/{Number(container)}/dma", mapping, cancellation);

    /// <summary><c>GET /translate</c>: translates one DMA of <paramref name="device"/> at <paramref name="iova"/>
    /// (with <paramref name="pasid"/> when given), <paramref name="access"/> "read", "write" or "rw".</summary>
    public Task<TranslateResult> TranslateAsync(string device, ulong iova, uint? pasid = null, string access = "read", CancellationToken cancellation = default)
    {
        string query = $"translate?device={Uri.EscapeDataString(device)}&iova={Mapping.Hex(iova)}&access={Uri.EscapeDataString(access)}"
            + (pasid is uint p ? "&pasid=" + Number(p) : "");
        return SendAsync<TranslateResult>(HttpMethod.Get, query, null, cancellation);
    }

    /// <summary>
    /// <c>POST /translate/batch</c> with binary records, synchronously (a load loop's thread waits on its own request):
    /// sends the first <paramref name="length"/> bytes of <paramref name="requests"/> (16-byte request records) and
    /// reads as many bytes of result records into <paramref name="results"/>. Only the request message is allocated
    /// per call: the buffers are the caller's.
    /// </summary>
    /// <returns>The bytes of results read (equal to <paramref name="length"/>).</returns>
    public int TranslateBatch(byte[] requests, int length, byte[] results)
    {
        using HttpRequestMessage message = BatchMessage(requests, length, results);
        using HttpResponseMessage response = _http.Send(message, HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
            throw Failure(response, response.Content.ReadAsStringAsync().GetAwaiter().GetResult());
        using Stream body = response.Content.ReadAsStream();
        int read = 0;
        while (read < length)
        {
            int got = body.Read(results, read, length - read);
            if (got == 0)
                break;
            read += got;
        }
        return CheckBatchAnswer(body.ReadByte() == -1, read, length, response);
    }

    /// <summary>The asynchronous <see cref="TranslateBatch"/>.</summary>
    /// <returns>The bytes of results read (equal to <paramref name="length"/>).</returns>
    public async Task<int> TranslateBatchAsync(byte[] requests, int length, byte[] results, CancellationToken cancellation = default)
    {
        using HttpRequestMessage message = BatchMessage(requests, length, results);
        using HttpResponseMessage response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellation).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw Failure(response, await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false));
        Stream body = await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            int read = 0;
            while (read < length)
            {
                int got = await body.ReadAsync(results.AsMemory(read, length - read), cancellation).ConfigureAwait(false);
                if (got == 0)
                    break;
                read += got;
            }
            byte[] probe = new byte[1];
            return CheckBatchAnswer(await body.ReadAsync(probe, cancellation).ConfigureAwait(false) == 0, read, length, response);
        }
    }

    private static HttpRequestMessage BatchMessage(byte[] requests, int length, byte[] results)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(results);
        if (length % BatchRecordSize != 0 || length > requests.Length || length > results.Length)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"a whole number of {BatchRecordSize}-byte records that fits both buffers");
        var message = new HttpRequestMessage(HttpMethod.Post, "translate/batch") { Content = new ByteArrayContent(requests, 0, length) };
        message.Content.Headers.ContentType = OctetStream;
        return message;
    }

    private static int CheckBatchAnswer(bool ended, int read, int length, HttpResponseMessage response) =>
        ended && read == length
            ? read
            : throw new SiovApiException((int)response.StatusCode, "EIO", $"POST /translate/batch answered a body that is not {length / BatchRecordSize} result records");

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellation)
    {
        using var message = new HttpRequestMessage(method, path) { Content = body == null ? null : JsonContent.Create(body, body.GetType(), options: Json) };
        using HttpResponseMessage response = await _http.SendAsync(message, cancellation).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw Failure(response, await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false));
        if (response.Content.Headers.ContentLength == 0 || response.StatusCode == System.Net.HttpStatusCode.NoContent)
            return default!;
        return await response.Content.ReadFromJsonAsync<T>(Json, cancellation).ConfigureAwait(false)
            ?? throw new SiovApiException((int)response.StatusCode, "EIO", $"{method} /{path} answered null");
    }

    private static SiovApiException Failure(HttpResponseMessage response, string text)
    {
        int status = (int)response.StatusCode;
        try
        {
            using var problem = JsonDocument.Parse(text);
            JsonElement root = problem.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("code", out JsonElement code))
                return new SiovApiException(status, code.GetString() ?? "EIO", root.TryGetProperty("detail", out JsonElement d) ? d.GetString() ?? "" : "");
        }
        catch (JsonException)
        {
            // Not a problem body (a proxy's page, an empty answer): the status says it all.
        }
        return new SiovApiException(status, "EIO", $"HTTP {status} {response.ReasonPhrase}");
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
