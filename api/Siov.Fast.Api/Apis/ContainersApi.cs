using Microsoft.AspNetCore.Http.HttpResults;
using Siov.Fast.Api.Durability;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Api.Infrastructure.Wire;
using Siov.Fast.Vfio;

namespace Siov.Fast.Api.Apis;

/// <summary><c>/containers</c>: VFIO type1 containers (a VM's IOMMU context).</summary>
internal static class ContainersApi
{
    public static IEndpointRouteBuilder MapContainersApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder containers = app.MapGroup("/containers").WithTags("containers").WithControlLock();
        containers.MapGet("/", List).WithName("ListContainers").WithSummary("VFIO containers: groups, domains, and the number and bytes of their mappings (GET /containers/{id} lists them)");
        containers.MapPost("/", Create).WithName("CreateContainer").WithJournal().WithSummary("Open a VFIO type1 container");
        containers.MapGet("/{id}", Get).WithName("GetContainer").WithSummary("Groups, domains, DMA mappings and pinned ranges");
        containers.MapDelete("/{id}", Delete).WithName("DeleteContainer").WithJournal()
            .WithSummary("Close a container: every group is detached (normal and aux), its domains freed, its mappings dropped");
        containers.MapPost("/{id}/groups", AttachGroup).WithName("ContainerAttachGroup").WithJournal()
            .WithSummary("vfio_iommu_type1_attach_group: {group}; mdev groups are aux-attached through their iommu_device");
        containers.MapDelete("/{id}/groups/{group}", DetachGroup).WithName("ContainerDetachGroup").WithJournal().WithSummary("vfio_iommu_type1_detach_group");
        containers.MapPost("/{id}/dma", MapDma).WithName("ContainerMapDma").WithJournal().WithSummary("VFIO_IOMMU_MAP_DMA: {iova, hpa, size, prot} into every domain");
        containers.MapDelete("/{id}/dma", UnmapDma).WithName("ContainerUnmapDma").WithJournal()
            .WithSummary("VFIO_IOMMU_UNMAP_DMA of ?iova=&size= (type1v2: a mapping cut in two is EINVAL)");
        return app;
    }

    public static Ok<ContainerSummaryDto[]> List(PlatformState state) =>
        TypedResults.Ok(state.Containers.OrderBy(c => c.Key).Select(c => Dto.ContainerSummary(c.Key, c.Value)).ToArray());

    public static Created<ContainerDto> Create(PlatformState state)
    {
        // ENOSPC beyond Siov:Limits:MaxContainers.
        (int id, VfioContainer container) = state.CreateContainer();
        return TypedResults.Created($"/containers/{id}", Dto.Container(id, container));
    }

    public static Results<Ok<ContainerDto>, ProblemHttpResult> Get(int id, PlatformState state) =>
        state.Containers.TryGetValue(id, out VfioContainer? c) ? TypedResults.Ok(Dto.Container(id, c)) : Problems.NotFound($"no container {id}");

    public static Results<NoContent, ProblemHttpResult> Delete(int id, PlatformState state) =>
        state.CloseContainer(id) ? TypedResults.NoContent() : Problems.NotFound($"no container {id}");

    public static Results<Ok<ContainerDto>, ProblemHttpResult> AttachGroup(int id, ContainerGroupRequest? request, PlatformState state)
    {
        if (!state.Containers.TryGetValue(id, out VfioContainer? c))
            return Problems.NotFound($"no container {id}");
        if (request?.Group is not int group)
            return Problems.Invalid("the body needs 'group', an iommu group id");
        c.AttachGroup(Lookup.Group(state, group));
        return TypedResults.Ok(Dto.Container(id, c));
    }

    public static Results<NoContent, ProblemHttpResult> DetachGroup(int id, int group, PlatformState state)
    {
        if (!state.Containers.TryGetValue(id, out VfioContainer? c))
            return Problems.NotFound($"no container {id}");
        c.DetachGroup(Lookup.Group(state, group));
        return TypedResults.NoContent();
    }

    public static Results<Created<MappingDto>, ProblemHttpResult> MapDma(int id, MapRequest? request, PlatformState state)
    {
        if (!state.Containers.TryGetValue(id, out VfioContainer? c))
            return Problems.NotFound($"no container {id}");
        if (request == null)
            return Problems.Invalid("the body must be {\"iova\", \"hpa\", \"size\", \"prot\"}");
        ulong iova = Hex.Parse(request.Iova, "iova"), hpa = Hex.Parse(request.Hpa, "hpa"), size = Hex.Parse(request.Size, "size");
        DmaProtection prot = Hex.ParseProtection(request.Prot ?? "rw");
        c.MapDma(iova, hpa, size, prot);
        return TypedResults.Created($"/containers/{id}/dma", Dto.Mapping(iova, hpa, size, prot));
    }

    public static Results<Ok<UnmapDto>, ProblemHttpResult> UnmapDma(int id, string? iova, string? size, PlatformState state)
    {
        if (!state.Containers.TryGetValue(id, out VfioContainer? c))
            return Problems.NotFound($"no container {id}");
        ulong start = Hex.Parse(iova, "iova"), bytes = Hex.Parse(size, "size");
        ulong unmapped = c.UnmapDma(start, bytes);
        return TypedResults.Ok(new UnmapDto(Hex.Format(start), Hex.Format(bytes), Hex.Format(unmapped)));
    }
}
