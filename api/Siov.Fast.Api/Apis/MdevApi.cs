using Microsoft.AspNetCore.Http.HttpResults;
using Siov.Fast.Api.Durability;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Api.Infrastructure.Wire;
using Siov.Fast.Iommu;

namespace Siov.Fast.Api.Apis;

/// <summary><c>/mdev/types</c> and <c>/mdevs</c>: mediated devices, as sysfs and mdevctl present them.</summary>
internal static class MdevApi
{
    public static IEndpointRouteBuilder MapMdevApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/mdev/types", ListTypes).WithName("ListMdevTypes").WithTags("mdev").WithControlLock()
            .WithSummary("mdev_supported_types of every parent (or ?parent=), with available_instances");
        RouteGroupBuilder mdevs = app.MapGroup("/mdevs").WithTags("mdev").WithControlLock();
        mdevs.MapGet("/", List).WithName("ListMdevs").WithSummary("Mediated devices");
        mdevs.MapPost("/", Create).WithName("CreateMdev").WithJournal(FixMdevUuid).WithSummary("Create an mdev: {parent, type, uuid?} (a UUID is generated when absent)");
        mdevs.MapGet("/{uuid}", Get).WithName("GetMdev").WithSummary("One mdev with its group, iommu_device and domain");
        mdevs.MapDelete("/{uuid}", Remove).WithName("RemoveMdev").WithJournal().WithSummary("Remove an mdev (EBUSY while its group is attached or in a container)");
        return app;
    }

    public static Results<Ok<MdevTypeDto[]>, ProblemHttpResult> ListTypes(string? parent, PlatformState state)
    {
        IommuCore core = state.Platform.Core;
        IEnumerable<PciDevice> parents = core.MdevParents;
        if (parent != null)
        {
            if (!Lookup.Device(state, parent, out PciDevice? device, out ProblemHttpResult? problem))
                return problem;
            parents = [device];
        }
        return TypedResults.Ok(parents.SelectMany(core.GetMdevTypes).Select(Dto.MdevType).ToArray());
    }

    public static Ok<MdevDto[]> List(PlatformState state) =>
        TypedResults.Ok(state.Platform.Core.MediatedDevices.Select(m => Dto.Mdev(state.Platform.Core, m)).ToArray());

    public static Results<Created<MdevDto>, ProblemHttpResult> Create(CreateMdevRequest? request, PlatformState state)
    {
        if (request?.Parent == null || request.Type == null)
            return Problems.Invalid("the body needs 'parent' (a PCI address) and 'type' (an mdev type id)");
        Guid uuid = Guid.NewGuid();
        if (request.Uuid != null && !Guid.TryParse(request.Uuid, out uuid))
            return Problems.Invalid($"field 'uuid' is '{request.Uuid}', not a UUID");
        PciDevice parent = Lookup.DeviceOrThrow(state, request.Parent, "parent");
        MediatedDevice mdev = state.Platform.Core.MdevCreate(parent, request.Type, uuid);
        return TypedResults.Created($"/mdevs/{mdev.Uuid}", Dto.Mdev(state.Platform.Core, mdev));
    }

    /// <summary>Chooses the UUID of an mdev created without one before the call is journalled, so a replay creates the
    /// same one.</summary>
    private static void FixMdevUuid(IList<object?> arguments)
    {
        if (arguments[0] is CreateMdevRequest { Uuid: null } request)
            arguments[0] = request with { Uuid = Guid.NewGuid().ToString() };
    }

    public static Results<Ok<MdevDto>, ProblemHttpResult> Get(string uuid, PlatformState state)
    {
        if (!Guid.TryParse(uuid, out Guid id))
            return Problems.Invalid($"'{uuid}' is not a UUID");
        return state.Platform.Core.FindMdev(id) is { } mdev ? TypedResults.Ok(Dto.Mdev(state.Platform.Core, mdev)) : Problems.NotFound($"no mdev {uuid}");
    }

    public static Results<NoContent, ProblemHttpResult> Remove(string uuid, PlatformState state)
    {
        if (!Guid.TryParse(uuid, out Guid id))
            return Problems.Invalid($"'{uuid}' is not a UUID");
        state.Platform.Core.MdevRemove(id);
        return TypedResults.NoContent();
    }
}
