using System.Text.Json.Nodes;
using Siov.Fast.Api.Infrastructure.Wire;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>
/// One valid example per request record, for the OpenAPI document (Swagger UI's "Try it out" starts from it).
/// They follow the default platform and the README's seed 002: 01:00.0 is the PASID-capable mdev parent, 02:00.0
/// the NIC in group 4; each validates against its record's schema (OpenApiDocumentTests checks it).
/// </summary>
internal static class WireExamples
{
    private const string Mapping = """{"iova":"0x100000","hpa":"0x40000000","size":"0x1000","prot":"rw"}""";

    private static readonly Dictionary<string, string> Examples = new(StringComparer.Ordinal)
    {
        [nameof(AttachRequest)] = """{"device":"01:00.0","aux":true}""",
        [nameof(ContainerGroupRequest)] = """{"group":4}""",
        [nameof(CreateDomainRequest)] = """{"type":"UNMANAGED"}""",
        [nameof(CreateMdevRequest)] = """{"parent":"01:00.0","type":"idxd-wq","uuid":"11111111-0000-0000-0000-000000000002"}""",
        [nameof(DefineMdevRequest)] = """{"uuid":"11111111-0000-0000-0000-000000000004","parent":"01:00.0","mdev_type":"idxd-wq","start":"manual"}""",
        [nameof(ModifyMdevRequest)] = """{"start":"auto"}""",
        [nameof(DirtyBitmapRequest)] = """{"iova":"0x0","length":"0x10000","page_size":"0x1000"}""",
        [nameof(DirtyTrackingRequest)] = """{"enabled":true}""",
        [nameof(HwptAllocRequest)] = """{"dev_id":2,"pt_id":1}""",
        [nameof(HwptInvalidateRequest)] = """{"addr":"0x0","npages":"0x1","leaf":false}""",
        [nameof(IoasCopyRequest)] = """{"src_ioas":1,"src_iova":"0x0","length":"0x1000","iova":"0x100000","prot":"rw"}""",
        [nameof(IoasMapRequest)] = """{"iova":"0x0","hpa":"0x40000000","length":"0x200000","prot":"rw"}""",
        [nameof(IoasUnmapRequest)] = """{"iova":"0x0","length":"0x200000"}""",
        [nameof(IommufdAttachRequest)] = """{"pt_id":1}""",
        [nameof(IommufdBindRequest)] = """{"device":"02:00.0"}""",
        [nameof(MapRequest)] = Mapping,
        [nameof(MapBatchRequest)] = "{\"mappings\":[" + Mapping + """,{"iova":"0x101000","hpa":"0x40001000","size":"0x1000","prot":"r"}]}""",
        [nameof(PageRequestRequest)] = """{"pasid":1,"address":"0x1000","access":"r","group":0,"last":true}""",
        [nameof(PageResponseRequest)] = """{"cookie":1,"code":"success"}""",
        [nameof(TranslateRequest)] = """{"device":"01:00.0","iova":"0xf0000010","access":"read"}""",
        [nameof(TranslateBatchRequest)] = """{"requests":[{"device":"01:00.0","iova":"0xf0000010","access":"read"},{"device":"02:00.0","pasid":null,"iova":"0x12345","access":"write"}]}""",
    };

    /// <summary>A fresh copy of the example of <paramref name="record"/>, or null when it has none.</summary>
    public static JsonNode? For(string record) => Examples.TryGetValue(record, out string? json) ? JsonNode.Parse(json) : null;
}
