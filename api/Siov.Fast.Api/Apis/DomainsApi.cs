using Microsoft.AspNetCore.Http.HttpResults;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Iommu;

namespace Siov.Fast.Api.Apis;

/// <summary><c>/domains</c>: create, list, free; their mappings and attachments (normal, aux, PASID).</summary>
internal static class DomainsApi
{
    /// <summary>Most mappings one batch call may carry.</summary>
    public const int MaxMapBatch = 65536;

    public static IEndpointRouteBuilder MapDomainsApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder domains = app.MapGroup("/domains").WithTags("domains");
        domains.MapGet("/", List).WithName("ListDomains").WithSummary("Live domains");
        domains.MapPost("/", Create).WithName("CreateDomain").WithSummary("iommu_domain_alloc: type BLOCKED, IDENTITY, UNMANAGED or DMA");
        domains.MapGet("/{id}", Get).WithName("GetDomain").WithSummary("One domain with its groups, aux devices, PASID and per-unit domain ids");
        domains.MapDelete("/{id}", Delete).WithName("DeleteDomain").WithSummary("iommu_domain_free (EBUSY while attached)");

        domains.MapGet("/{id}/mappings", ListMappings).WithName("ListMappings").WithSummary("Page-table leaves in IOVA order");
        domains.MapPost("/{id}/mappings", Map).WithName("MapRange").WithSummary("iommu_map: iova, hpa, size as \"0x...\" hex, prot r|w|rw");
        domains.MapPost("/{id}/mappings/batch", MapBatch).WithName("MapRanges")
            .WithSummary($"Many iommu_map calls in one request (at most {MaxMapBatch}); all or nothing: an error names the failing index and leaves the domain as it was");
        domains.MapDelete("/{id}/mappings", Unmap).WithName("UnmapRange")
            .WithSummary("iommu_unmap of ?iova=&size=; answers the bytes unmapped (a partly covered superpage goes whole)");

        domains.MapGet("/{id}/attachments", ListAttachments).WithName("ListAttachments").WithSummary("Groups, aux devices and PASID attachments of the domain");
        domains.MapPost("/{id}/attachments", Attach).WithName("Attach")
            .WithSummary("Attach: {group} or {device} normally; {device, aux:true} as an aux domain (answer carries the PASID); {group, device, aux:true} for an mdev group; {device|group, pasid} at a PASID");
        domains.MapDelete("/{id}/attachments", Detach).WithName("Detach")
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

    public static Results<Ok<MappingDto[]>, ProblemHttpResult> ListMappings(int id, PlatformState state) =>
        Lookup.Domain(state, id, out IommuDomain? domain, out ProblemHttpResult? problem)
            ? TypedResults.Ok(domain.GetMappings().Select(m => Dto.Mapping(m.Iova, m.Hpa, m.Size, m.Protection)).ToArray())
            : problem;

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

    public static Results<Ok<MapBatchResult>, ProblemHttpResult> MapBatch(int id, MapBatchRequest? request, PlatformState state)
    {
        if (!Lookup.Domain(state, id, out IommuDomain? domain, out ProblemHttpResult? problem))
            return problem;
        MapRequest[] mappings = request?.Mappings ?? throw new IommuException(Errno.EINVAL, "the body must be {\"mappings\": [...]}");
        if (mappings.Length > MaxMapBatch)
            return Problems.TooLarge($"{mappings.Length} mappings exceed the batch maximum of {MaxMapBatch}");
        var parsed = mappings.Select((m, i) => Parse(m ?? throw new IommuException(Errno.EINVAL, $"mappings[{i}] is null"), $"mappings[{i}].")).ToArray();
        for (int i = 0; i < parsed.Length; i++)
        {
            try
            {
                domain.Map(parsed[i].Iova, parsed[i].Hpa, parsed[i].Size, parsed[i].Prot);
            }
            catch (IommuException e)
            {
                // All or nothing: the ranges mapped before the failing one were free, so unmapping them
                // removes exactly what this call added.
                for (int k = 0; k < i; k++)
                    domain.Unmap(parsed[k].Iova, parsed[k].Size);
                return Problems.Create(e.Code, Problems.StatusOf(e.Code), $"mappings[{i}]: {e.Message} (the {i} mapped before it were unmapped again)");
            }
        }
        return TypedResults.Ok(new MapBatchResult(parsed.Length));
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

internal sealed record MapBatchResult(int Mapped);
