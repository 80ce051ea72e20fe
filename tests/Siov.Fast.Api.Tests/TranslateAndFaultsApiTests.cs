using System.Buffers.Binary;
using System.Net;
using System.Text.Json;

namespace Siov.Fast.Api.Tests;

/// <summary><c>/translate</c>, <c>/translate/batch</c> (JSON and binary), <c>/faults</c> and <c>/stats</c>.</summary>
public sealed class TranslateAndFaultsApiTests : ApiTestHost
{
    private const ushort NicRid = 0x0200;      // 02:00.0
    private const ushort ParentRid = 0x0100;   // 01:00.0

    /// <summary>02:00.0 in its own UNMANAGED domain with IOVA 0x1000 -> 0x7000_1000 (4 KiB, read-only).</summary>
    private async Task MapNicAsync()
    {
        int id = await CreateDomainAsync();
        await ReadJsonAsync(await PostAsync($"/domains/{id}/mappings", """{"iova":"0x1000","hpa":"0x70001000","size":"0x1000","prot":"r"}"""), HttpStatusCode.Created);
        await ReadJsonAsync(await PostAsync($"/domains/{id}/attachments", """{"device":"02:00.0"}"""));
    }

    private static byte[] Record(ulong iova, ushort rid, byte access, uint? pasid = null, byte? flags = null)
    {
        byte[] r = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(r, iova);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(8), pasid ?? 0);
        BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(12), rid);
        r[14] = access;
        r[15] = flags ?? (byte)(pasid.HasValue ? 1 : 0);
        return r;
    }

    private Task<HttpResponseMessage> PostBinaryAsync(byte[] body) => Client.PostAsync(new Uri("/translate/batch", UriKind.Relative), Binary(body));

    [Fact]
    public async Task Translate_HitAndFaults()
    {
        await MapNicAsync();
        JsonElement hit = await GetJsonAsync("/translate?device=02:00.0&iova=0x1abc");
        Assert.True(hit.GetProperty("ok").GetBoolean());
        Assert.Equal("0x70001abc", hit.GetProperty("hpa").GetString());
        Assert.Equal("0x1000", hit.GetProperty("page_size").GetString());
        Assert.Equal("r", hit.GetProperty("permissions").GetString());
        Assert.False(hit.TryGetProperty("fault", out _));

        JsonElement write = await GetJsonAsync("/translate?device=02:00.0&iova=0x1abc&access=write");
        Assert.False(write.GetProperty("ok").GetBoolean());
        Assert.StartsWith("0x", write.GetProperty("fault").GetProperty("code").GetString(), StringComparison.Ordinal);

        JsonElement unmapped = await GetJsonAsync("/translate?device=02:00.0&iova=0x5000");
        Assert.Equal("0x79", unmapped.GetProperty("fault").GetProperty("code").GetString());
        Assert.False(unmapped.TryGetProperty("hpa", out _));

        JsonElement noDevice = await GetJsonAsync("/translate?device=09:00.0&iova=0x0");
        Assert.False(noDevice.GetProperty("ok").GetBoolean()); // the catch-all unit faults unknown requesters
    }

    [Theory]
    [InlineData("/translate?device=zz&iova=0x0", "field 'device' is 'zz'")]
    [InlineData("/translate?iova=0x0", "field 'device'")]
    [InlineData("/translate?device=02:00.0", "field 'iova' is missing")]
    [InlineData("/translate?device=02:00.0&iova=0xg", "field 'iova' is '0xg'")]
    [InlineData("/translate?device=02:00.0&iova=0x0&access=x", "field 'access' is 'x'")]
    [InlineData("/translate?device=02:00.0&iova=0x0&pasid=2000000", "field 'pasid' is 2000000")]
    [InlineData("/translate?device=02:00.0&iova=0x0&pasid=abc", "pasid")]
    [InlineData("/translate?device=0001:02:00.0&iova=0x0", "only segment 0")]
    public async Task Translate_BadQuery_400NamesField(string url, string fragment)
    {
        await ReadProblemAsync(await GetAsync(url), HttpStatusCode.BadRequest, "EINVAL", fragment);
    }

    [Fact]
    public async Task BatchJson_AnswersInOrder()
    {
        await MapNicAsync();
        JsonElement answer = await ReadJsonAsync(await PostAsync("/translate/batch",
            """{"requests":[{"device":"02:00.0","iova":"0x1008"},{"device":"01:00.0","iova":"0x0","pasid":5},{"device":"02:00.0","iova":"0x9000","access":"rw"}]}"""));
        JsonElement[] results = [.. answer.GetProperty("results").EnumerateArray()];
        Assert.Equal(3, results.Length);
        Assert.Equal("0x70001008", results[0].GetProperty("hpa").GetString());
        Assert.Equal("0x59", results[1].GetProperty("fault").GetProperty("code").GetString());
        Assert.Equal("0x79", results[2].GetProperty("fault").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("""{}""", "{\"requests\": [...]}")]
    [InlineData("""{"requests":[null]}""", "requests[0] is null")]
    [InlineData("""{"requests":[{"device":"02:00.0","iova":"0x0"},{"device":"02:00.0"}]}""", "field 'requests[1].iova' is missing")]
    [InlineData("""{"requests":[{"device":"02:00.0","iova":"0x0","access":"x"}]}""", "field 'requests[0].access'")]
    [InlineData("""{"requests":[{"device":"02:00.0","iova":"0x0","pasid":"seven"}]}""", "$.requests[0].pasid")]
    [InlineData("""{bad""", "malformed JSON")]
    public async Task BatchJson_Malformed_400(string body, string fragment)
    {
        await ReadProblemAsync(await PostAsync("/translate/batch", body), HttpStatusCode.BadRequest, "EINVAL", fragment);
    }

    [Fact]
    public async Task BatchJson_OverMaximum_413()
    {
        string body = "{\"requests\":[" + string.Join(',', Enumerable.Repeat("{}", 65537)) + "]}";
        await ReadProblemAsync(await PostAsync("/translate/batch", body), (HttpStatusCode)413, "E2BIG", "65537");
    }

    [Fact]
    public async Task BatchBinary_AnswersSixteenByteRecords()
    {
        await MapNicAsync();
        byte[] body = [.. Record(0x1234, NicRid, 1), .. Record(0x5000, NicRid, 1), .. Record(0x0, ParentRid, 1, pasid: 9), .. Record(0x1234, NicRid, 2)];
        using HttpResponseMessage response = await PostBinaryAsync(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        byte[] answer = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(body.Length, answer.Length);

        ReadOnlySpan<byte> hit = answer.AsSpan(0, 16);
        Assert.Equal(0x7000_1234UL, BinaryPrimitives.ReadUInt64LittleEndian(hit));
        Assert.Equal(12, hit[8]);    // 4 KiB page
        Assert.Equal(1, hit[9]);     // R
        Assert.Equal(0, hit[10]);    // success
        Assert.True(hit[11..].ToArray().All(b => b == 0));

        ReadOnlySpan<byte> unmapped = answer.AsSpan(16, 16);
        Assert.Equal(0, unmapped[8]);
        Assert.Equal(0x79, unmapped[10]);
        Assert.True(unmapped[11..].ToArray().All(b => b == 0));
        Assert.Equal(0x59, answer[32 + 10]);                      // unknown PASID
        Assert.NotEqual(0, answer[48 + 10]);                      // write to a read-only page faults
    }

    [Fact]
    public async Task BatchBinary_EmptyBody_EmptyAnswer()
    {
        using HttpResponseMessage response = await PostBinaryAsync([]);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(7, 0)]
    [InlineData(4, 0)]
    [InlineData(1, 2)]
    public async Task BatchBinary_BadAccessOrFlags_400NamesRecord(byte access, byte flags)
    {
        byte[] body = [.. Record(0, NicRid, 1), .. Record(0, NicRid, access, flags: flags)];
        await ReadProblemAsync(await PostBinaryAsync(body), HttpStatusCode.BadRequest, "EINVAL", "record 1", "byte offset 16");
    }

    [Fact]
    public async Task BatchBinary_BadPasid_400()
    {
        await ReadProblemAsync(await PostBinaryAsync(Record(0, ParentRid, 1, pasid: 1u << 20)), HttpStatusCode.BadRequest, "EINVAL", "record 0", "PASID 1048576");
        await ReadProblemAsync(await PostBinaryAsync(Record(0, ParentRid, 1, pasid: 5, flags: 0)), HttpStatusCode.BadRequest, "EINVAL", "record 0");
    }

    [Fact]
    public async Task BatchBinary_NotAMultipleOf16_400()
    {
        await ReadProblemAsync(await PostBinaryAsync(new byte[17]), HttpStatusCode.BadRequest, "EINVAL", "17 bytes", "16-byte records");
    }

    [Fact]
    public async Task BatchBinary_OverMaximum_413()
    {
        byte[] body = new byte[(65536 + 1) * 16];
        for (int i = 0; i < body.Length; i += 16)
            body[i + 14] = 1;
        await ReadProblemAsync(await PostBinaryAsync(body), (HttpStatusCode)413, "E2BIG", "65536 records");
    }

    [Fact]
    public async Task BatchBinary_ExactlyTheMaximum_Translates()
    {
        byte[] body = new byte[65536 * 16];
        for (int i = 0; i < body.Length; i += 16)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(i + 12), NicRid);
            body[i + 14] = 1;
        }
        using HttpResponseMessage response = await PostBinaryAsync(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body.Length, (await response.Content.ReadAsByteArrayAsync()).Length);
    }

    [Fact]
    public async Task Faults_JsonLinuxAndDrain()
    {
        Assert.All((await GetJsonAsync("/faults")).EnumerateArray(), u => Assert.Empty(u.GetProperty("faults").EnumerateArray()));
        await GetJsonAsync("/translate?device=01:00.0&iova=0x1000&pasid=9");
        await GetJsonAsync("/translate?device=01:00.0&iova=0x12345&pasid=3&access=write");

        JsonElement logs = await GetJsonAsync("/faults");
        JsonElement dmar1 = logs.EnumerateArray().Single(u => u.GetProperty("unit").GetString() == "dmar1");
        Assert.Equal(2, dmar1.GetProperty("recorded").GetInt64());
        JsonElement first = dmar1.GetProperty("faults")[0];
        Assert.Equal("01:00.0", first.GetProperty("source_id").GetString());
        Assert.Equal(9u, first.GetProperty("pasid").GetUInt32());
        Assert.Equal("0x59", first.GetProperty("reason_code").GetString());
        Assert.Equal("0x1000", first.GetProperty("address").GetString());
        Assert.False(first.GetProperty("write").GetBoolean());

        using HttpResponseMessage text = await GetAsync("/faults?format=linux");
        Assert.Equal(HttpStatusCode.OK, text.StatusCode);
        Assert.Equal("text/plain", text.Content.Headers.ContentType?.MediaType);
        string[] lines = (await ReadBodyAsync(text)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(
        [
            "DMAR: [DMA Read PASID 0x9] Request device [01:00.0] fault addr 0x1000 [fault reason 0x59] SM: Present bit in PASID Table Entry is clear",
            "DMAR: [DMA Write PASID 0x3] Request device [01:00.0] fault addr 0x12000 [fault reason 0x59] SM: Present bit in PASID Table Entry is clear",
        ], lines);
        Assert.Equal(2, (await GetJsonAsync("/faults")).EnumerateArray().Sum(u => u.GetProperty("faults").GetArrayLength())); // GET does not drain

        JsonElement drained = await ReadJsonAsync(await DeleteAsync("/faults"));
        Assert.Equal(2, drained.EnumerateArray().Sum(u => u.GetProperty("faults").GetArrayLength()));
        Assert.All((await GetJsonAsync("/faults")).EnumerateArray(), u => Assert.Empty(u.GetProperty("faults").EnumerateArray()));
        Assert.Equal("", await ReadBodyAsync(await GetAsync("/faults?format=linux")));
    }

    [Fact]
    public async Task Faults_BadFormat_400()
    {
        await ReadProblemAsync(await GetAsync("/faults?format=xml"), HttpStatusCode.BadRequest, "EINVAL", "'format'", "'xml'");
    }

    [Fact]
    public async Task Stats_CountTranslationsAndFaults()
    {
        await MapNicAsync();
        await GetJsonAsync("/translate?device=02:00.0&iova=0x1000");
        await GetJsonAsync("/translate?device=02:00.0&iova=0x1000");
        await GetJsonAsync("/translate?device=02:00.0&iova=0x9000");
        JsonElement stats = await GetJsonAsync("/stats");
        Assert.Equal(["dmar0", "dmar1"], stats.EnumerateArray().Select(s => s.GetProperty("unit").GetString()));
        JsonElement dmar1 = stats[1];
        Assert.Equal(3, dmar1.GetProperty("translations").GetInt64());
        Assert.Equal(1, dmar1.GetProperty("faults").GetInt64());
        Assert.True(dmar1.GetProperty("iotlb_hits").GetInt64() >= 1);
        Assert.Equal(0, stats[0].GetProperty("translations").GetInt64());
    }
}
