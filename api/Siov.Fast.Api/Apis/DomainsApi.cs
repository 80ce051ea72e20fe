using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Siov.Fast.Api.Durability;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Api.Infrastructure.Wire;
using Siov.Fast.Iommu;
using Siov.Fast.PageTables;

namespace Siov.Fast.Api.Apis;

/// <summary><c>/domains</c>: create, list, free; their mappings and attachments (normal, aux, PASID).</summary>
internal static class DomainsApi
{
    /// <summary>Most mappings one batch call may carry.</summary>
    public const int MaxMapBatch = 65536;

    /// <summary>Most leaves one <c>GET /domains/{id}/mappings</c> answers (and its default).</summary>
    public const int MaxListedMappings = 65536;

    /// <summary>Leaves a listing answers when no <c>limit</c> is given.</summary>
    public const int DefaultListedMappings = 4096;

    public static IEndpointRouteBuilder MapDomainsApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder domains = app.MapGroup("/domains").WithTags("domains").WithControlLock();
        domains.MapGet("/", List).WithName("ListDomains").WithSummary("Live domains");
        domains.MapPost("/", Create).WithName("CreateDomain").WithJournal().WithSummary("iommu_domain_alloc: type BLOCKED, IDENTITY, UNMANAGED or DMA");
        domains.MapGet("/{id}", Get).WithName("GetDomain").WithSummary("One domain with its groups, aux devices, PASID and per-unit domain ids");
        domains.MapDelete("/{id}", Delete).WithName("DeleteDomain").WithJournal().WithSummary("iommu_domain_free (EBUSY while attached)");

        domains.MapGet("/{id}/mappings", ListMappings).WithName("ListMappings")
            .WithSummary($"Page-table leaves in IOVA order from ?start= (default 0x0), at most ?limit= (default {DefaultListedMappings}, at most {MaxListedMappings}); a Link header with rel=\"next\" names the next page");
        domains.MapPost("/{id}/mappings", Map).WithName("MapRange").WithJournal().WithSummary("iommu_map: iova, hpa, size as \"0x...\" hex, prot r|w|rw");
        // Reads its own body before taking the control lock, so it is mapped outside the locked group.
        app.MapPost("/domains/{id}/mappings/batch", MapBatch).WithName("MapRanges").WithTags("domains")
            .Accepts<MapBatchRequest>("application/json")
            .Produces<MapBatchResult>()
            .WithBodyLimit(int.MaxValue) // the route reads at most Siov:Limits:MaxBatchBodyBytes itself
            .WithMetadata(JournalMetadata.Journaled) // journals its parsed batch itself (MapBatchRecord)
            .WithSummary($"Many iommu_map calls in one request (at most {MaxMapBatch}); all or nothing: an error names the failing index and leaves the domain, and the table memory, as they were");
        domains.MapDelete("/{id}/mappings", Unmap).WithName("UnmapRange").WithJournal()
            .WithSummary("iommu_unmap of ?iova=&size=; answers the bytes unmapped (a partly covered superpage goes whole)");

        domains.MapGet("/{id}/attachments", ListAttachments).WithName("ListAttachments").WithSummary("Groups, aux devices and PASID attachments of the domain");
        domains.MapPost("/{id}/attachments", Attach).WithName("Attach").WithJournal()
            .WithSummary("Attach: {group} or {device} normally; {device, aux:true} as an aux domain (answer carries the PASID); {group, device, aux:true} for an mdev group; {device|group, pasid} at a PASID");
        domains.MapDelete("/{id}/attachments", Detach).WithName("Detach").WithJournal()
            .WithSummary("Detach with the same fields as query parameters: ?group=, ?device=, &aux=true, &pasid=");
        return app;
    }

    public static Ok<DomainDto[]> List(PlatformState state) =>
        TypedResults.Ok(state.Platform.Core.Domains.Select(d => Dto.Domain(state.Platform, d)).ToArray());

    public static Results<Created<DomainDto>, ProblemHttpResult> Create(CreateDomainRequest? request, PlatformState state)
    {
        string? typeText = request?.Type;
        if (!Enum.TryParse(typeText, ignoreCase: true, out IommuDomainType type) || int.TryParse(typeText, out _))
            return Problems.Invalid($"field 'type' is '{typeText}', expected BLOCKED, IDENTITY, UNMANAGED or DMA");
        IommuDomain domain = state.Platform.Core.DomainAlloc(type);
        return TypedResults.Created($"/domains/{domain.Id}", Dto.Domain(state.Platform, domain));
    }

    public static Results<Ok<DomainDto>, ProblemHttpResult> Get(int id, PlatformState state) =>
        Lookup.Domain(state, id, out IommuDomain? domain, out ProblemHttpResult? problem) ? TypedResults.Ok(Dto.Domain(state.Platform, domain)) : problem;

    public static Results<NoContent, ProblemHttpResult> Delete(int id, PlatformState state)
    {
        if (!Lookup.Domain(state, id, out IommuDomain? domain, out ProblemHttpResult? problem))
            return problem;
        state.Platform.Core.DomainFree(domain);
        return TypedResults.NoContent();
    }

    public static Results<Ok<MappingDto[]>, ProblemHttpResult> ListMappings(int id, string? start, int? limit, HttpResponse response, PlatformState state)
    {
        if (!Lookup.Domain(state, id, out IommuDomain? domain, out ProblemHttpResult? problem))
            return problem;
        ulong from = start == null ? 0 : Hex.Parse(start, "start");
        int count = limit ?? DefaultListedMappings;
        if (count is < 1 or > MaxListedMappings)
            return Problems.Invalid($"query parameter 'limit' is {count}, expected 1 to {MaxListedMappings}");
        // One more than asked tells whether a next page exists; the walk stops there, whatever the table holds.
        IReadOnlyList<IoMapping> leaves = domain.PageTable?.GetMappings(from, count + 1) ?? [];
        if (leaves.Count > count)
            response.Headers.Link = $"</domains/{id}/mappings?start={Hex.Format(leaves[count].Iova)}&limit={count}>; rel=\"next\"";
        return TypedResults.Ok(leaves.Take(count).Select(m => Dto.Mapping(m.Iova, m.Hpa, m.Size, m.Protection)).ToArray());
    }

    public static Results<Created<MappingDto>, ProblemHttpResult> Map(int id, MapRequest? request, PlatformState state)
    {
        if (!Lookup.Domain(state, id, out IommuDomain? domain, out ProblemHttpResult? problem))
            return problem;
        if (request == null)
            return Problems.Invalid("the body must be {\"iova\", \"hpa\", \"size\", \"prot\"}");
        (ulong iova, ulong hpa, ulong size, DmaProtection prot) = Parse(request, "");
        domain.Map(iova, hpa, size, prot);
        return TypedResults.Created($"/domains/{id}/mappings", Dto.Mapping(iova, hpa, size, prot));
    }

    public static async Task<IResult> MapBatch(int id, HttpRequest http, PlatformState state, IOptions<JsonOptions> json)
    {
        CancellationToken cancellation = http.HttpContext.RequestAborted;
        BatchBody.MediaTypeOf(http, binaryAllowed: false);
        // At most MaxBatchesInFlight bodies are read and parsed at once; the others wait with their bodies unread.
        await state.BatchGate.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            IoMapping[] mappings;
            using (BatchBody body = await BatchBody.ReadAsync(http, state.Limits.MaxBatchBodyBytes, cancellation).ConfigureAwait(false))
            {
                List<MapRequest> items = body.ParseJsonArray<MapRequest>("mappings", MaxMapBatch, json.Value.SerializerOptions, cancellation);
                mappings = new IoMapping[items.Count];
                for (int i = 0; i < items.Count; i++)
                {
                    (ulong iova, ulong hpa, ulong size, DmaProtection prot) = Parse(items[i], $"mappings[{i}].");
                    mappings[i] = new IoMapping(iova, hpa, size, prot);
                }
            }
            return await state.RunLockedAsync(
                () => state.RunJournaled("MapRanges", () => MapBatchRecord.Encode(id, mappings), () => ApplyMapBatch(state, id, mappings)),
                cancellation).ConfigureAwait(false);
        }
        finally
        {
            state.BatchGate.Release();
        }
    }

    /// <summary>The locked, journalled part of a batch map (and its replay).</summary>
    public static IResult ApplyMapBatch(PlatformState state, int id, IoMapping[] mappings)
    {
        if (!Lookup.Domain(state, id, out IommuDomain? domain, out ProblemHttpResult? problem))
            return problem;
        domain.MapBatch(mappings); // all or nothing: on an error nothing was written and no frame was taken
        return TypedResults.Ok(new MapBatchResult(mappings.Length));
    }

    public static Results<Ok<UnmapDto>, ProblemHttpResult> Unmap(int id, string? iova, string? size, PlatformState state)
    {
        if (!Lookup.Domain(state, id, out IommuDomain? domain, out ProblemHttpResult? problem))
            return problem;
        ulong start = Hex.Parse(iova, "iova"), bytes = Hex.Parse(size, "size");
        ulong unmapped = domain.Unmap(start, bytes);
        return TypedResults.Ok(new UnmapDto(Hex.Format(start), Hex.Format(bytes), Hex.Format(unmapped)));
    }

    public static Results<Ok<AttachmentDto[]>, ProblemHttpResult> ListAttachments(int id, PlatformState state)
    {
        if (!Lookup.Domain(state, id, out IommuDomain? domain, out ProblemHttpResult? problem))
            return problem;
        var list = new List<AttachmentDto>();
        list.AddRange(domain.AttachedGroups.Select(g => new AttachmentDto("group", null, g.Id, null)));
        // A parent aux-attached only through mdev groups is listed once, as "aux-group" (below), not also as "aux":
        // an aux detach of the device alone would be refused with EBUSY.
        var auxGroups = state.Platform.Core.Groups.Where(g => g.Domain == domain && g.AuxParent != null).ToArray();
        list.AddRange(domain.AuxAttachedDevices.Where(d => !auxGroups.Any(g => g.AuxParent == d))
            .Select(d => new AttachmentDto("aux", d.Name, null, domain.Pasid)));
        foreach (PciDevice device in state.Platform.Core.PciDevices)
        {
            foreach ((uint pasid, IommuDomain at) in device.GetPasidDomains())
            {
                if (at == domain && !domain.AuxAttachedDevices.Contains(device))
                    list.Add(new AttachmentDto("pasid", device.Name, device.Group?.Id, pasid));
            }
        }
        list.AddRange(auxGroups.Select(g => new AttachmentDto("aux-group", g.AuxParent!.Name, g.Id, domain.Pasid)));
        return TypedResults.Ok(list.ToArray());
    }

    public static Results<Ok<AttachmentDto>, ProblemHttpResult> Attach(int id, AttachRequest? request, PlatformState state)
    {
        if (!Lookup.Domain(state, id, out IommuDomain? domain, out ProblemHttpResult? problem))
            return problem;
        if (request == null || (request.Device == null && request.Group == null))
            return Problems.Invalid("the body needs 'device' (a PCI address) or 'group' (an iommu group id)");
        IommuCore core = state.Platform.Core;
        PciDevice? device = request.Device != null ? Lookup.DeviceOrThrow(state, request.Device) : null;
        IommuGroup? group = request.Group is int gid ? Lookup.Group(state, gid) : null;
        bool aux = request.Aux ?? false;
        if (aux && request.Pasid.HasValue)
            return Problems.Invalid("'aux' and 'pasid' exclude each other: an aux domain gets its PASID from the allocator");
        if (aux)
        {
            if (device == null)
                return Problems.Invalid("an aux attach needs 'device', the parent with IOMMU_DEV_FEAT_AUX");
            if (group != null)
            {
                core.AuxAttachGroup(domain, group, device);
                return TypedResults.Ok(new AttachmentDto("aux-group", device.Name, group.Id, core.AuxGetPasid(domain, device)));
            }
            core.AuxAttachDevice(domain, device);
            return TypedResults.Ok(new AttachmentDto("aux", device.Name, null, core.AuxGetPasid(domain, device)));
        }
        if (request.Pasid is uint pasid)
        {
            if (group != null)
                core.AttachGroupPasid(domain, group, pasid);
            else
                core.AttachDevicePasid(domain, device!, pasid);
            return TypedResults.Ok(new AttachmentDto("pasid", device?.Name, group?.Id ?? device!.Group?.Id, pasid));
        }
        if (group != null && device != null)
            return Problems.Invalid("give 'group' or 'device' for a normal attach, not both");
        if (group != null)
        {
            core.AttachGroup(domain, group);
            return TypedResults.Ok(new AttachmentDto("group", null, group.Id, null));
        }
        core.AttachDevice(domain, device!);
        return TypedResults.Ok(new AttachmentDto("group", device!.Name, device.Group?.Id, null));
    }

    public static Results<NoContent, ProblemHttpResult> Detach(int id, string? device, int? group, bool? aux, uint? pasid, PlatformState state)
    {
        if (!Lookup.Domain(state, id, out IommuDomain? domain, out ProblemHttpResult? problem))
            return problem;
        if (device == null && group == null)
            return Problems.Invalid("query parameter 'device' or 'group' is needed");
        IommuCore core = state.Platform.Core;
        PciDevice? dev = device != null ? Lookup.DeviceOrThrow(state, device) : null;
        IommuGroup? grp = group is int gid ? Lookup.Group(state, gid) : null;
        if (aux == true)
        {
            if (dev == null)
                return Problems.Invalid("an aux detach needs 'device'");
            if (grp != null)
                core.AuxDetachGroup(domain, grp, dev);
            else
                core.AuxDetachDevice(domain, dev);
        }
        else if (pasid is uint p)
        {
            if (grp != null)
                core.DetachGroupPasid(domain, grp, p);
            else
                core.DetachDevicePasid(domain, dev!, p);
        }
        else if (grp != null)
            core.DetachGroup(domain, grp);
        else
            core.DetachDevice(domain, dev!);
        return TypedResults.NoContent();
    }

    private static (ulong Iova, ulong Hpa, ulong Size, DmaProtection Prot) Parse(MapRequest m, string prefix) =>
        (Hex.Parse(m.Iova, prefix + "iova"), Hex.Parse(m.Hpa, prefix + "hpa"), Hex.Parse(m.Size, prefix + "size"),
            Hex.ParseProtection(m.Prot ?? "rw", prefix + "prot"));
}
