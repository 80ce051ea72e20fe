using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Siov.Fast.Api.Durability;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Api.Infrastructure.Wire;
using Siov.Fast.Iommu;

namespace Siov.Fast.Api.Apis;

/// <summary><c>/healthz</c>, <c>/platform</c>, <c>/devices</c> and <c>/groups</c>: what was loaded.</summary>
internal static class PlatformApi
{
    public static IEndpointRouteBuilder MapPlatformApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", Health).WithName("Health").WithSummary("Liveness: 200 with status ok").WithTags("platform");
        app.MapGet("/healthz/ready", Ready).WithName("Ready").WithTags("platform")
            .WithSummary("Readiness: 200 with status ok when the platform is loaded and the state journal (if any) is open and writable; 503 with status unhealthy and a detail otherwise");
        app.MapGet("/platform", GetPlatform).WithName("GetPlatform")
            .WithSummary("The modelled platform: name and remapping units with their CAP/ECAP registers").WithTags("platform");

        RouteGroupBuilder devices = app.MapGroup("/devices").WithTags("devices").WithControlLock();
        devices.MapGet("/", ListDevices).WithName("ListDevices").WithSummary("PCI devices with their unit, group, domain and PASIDs");
        devices.MapGet("/{bdf}", GetDevice).WithName("GetDevice").WithSummary("One PCI device, by SSSS:BB:DD.F or BB:DD.F");
        devices.MapGet("/{bdf}/features/aux", GetAux).WithName("GetAuxFeature").WithSummary("IOMMU_DEV_FEAT_AUX: supported and enabled");
        devices.MapPost("/{bdf}/features/aux", EnableAux).WithName("EnableAuxFeature").WithJournal().WithSummary("Enable IOMMU_DEV_FEAT_AUX (iommu_dev_enable_feature)");
        devices.MapDelete("/{bdf}/features/aux", DisableAux).WithName("DisableAuxFeature").WithJournal().WithSummary("Disable IOMMU_DEV_FEAT_AUX (EBUSY while aux domains are attached)");
        devices.MapPost("/{bdf}/page-requests", SendPageRequest).WithName("SendPageRequest").NotJournaled()
            .WithSummary("The function sends a page request (PRI): {pasid?, address, access: r | w | rw, group?, last?}; it goes to the unit's page request queue and the domain's fault handler (an iommufd fault object)");
        devices.MapGet("/{bdf}/page-responses", PageResponses).WithName("GetPageResponses")
            .WithSummary("The page group responses the function received (the last 256)");

        RouteGroupBuilder groups = app.MapGroup("/groups").WithTags("groups").WithControlLock();
        groups.MapGet("/", ListGroups).WithName("ListGroups").WithSummary("iommu groups with member devices in sysfs form");
        groups.MapGet("/{id}", GetGroup).WithName("GetGroup").WithSummary("One iommu group");
        return app;
    }

    public static Results<Accepted, ProblemHttpResult> SendPageRequest(string bdf, PageRequestRequest? request, PlatformState state)
    {
        if (request?.Address == null)
            return Problems.Invalid("the body needs 'address' (hex) and 'access': r, w or rw");
        if (!Lookup.Device(state, bdf, out PciDevice? device, out ProblemHttpResult? problem))
            return problem;
        (bool read, bool write) = request.Access switch
        {
            "r" => (true, false),
            "w" => (false, true),
            "rw" or null => (true, true),
            _ => throw new IommuException(Errno.EINVAL, $"access '{request.Access}' is not r, w or rw"),
        };
        if (request.Group is < 0 or > 511)
            return Problems.Invalid($"group {request.Group} is outside 0-511 (a 9-bit PRG index)");
        if (request.Pasid is >= 1u << 20)
            return Problems.Invalid($"pasid {request.Pasid} does not fit 20 bits");
        if (!device.PriEnabled)
            throw new IommuException(Errno.EOPNOTSUPP, $"{device} has no ATS and PRI enabled: it sends no page requests");
        if (device.Unit is not Siov.Fast.Hardware.Vtd.RemappingUnit unit)
            throw new IommuException(Errno.EOPNOTSUPP, $"{device} is behind an IOMMU without a modelled page request queue");
        if (!state.SimulatedFunctions.TryGetValue(device.Address, out SimulatedFunction? function))
        {
            function = new SimulatedFunction();
            unit.ConnectAtsEndpoint(device.RequesterId, function);
            state.SimulatedFunctions.Add(device.Address, function);
        }
        unit.SendPageRequest(new Siov.Fast.Ats.PageRequest(device.RequesterId, request.Pasid, Hex.Parse(request.Address, "address"),
            read, write, Execute: false, Privileged: false, request.Group ?? 0, request.Last ?? true));
        return TypedResults.Accepted($"/devices/{bdf}/page-responses");
    }

    public static Results<Ok<PageResponseDto[]>, ProblemHttpResult> PageResponses(string bdf, PlatformState state)
    {
        if (!Lookup.Device(state, bdf, out PciDevice? device, out ProblemHttpResult? problem))
            return problem;
        Siov.Fast.Ats.PageGroupResponse[] responses = state.SimulatedFunctions.TryGetValue(device.Address, out SimulatedFunction? function)
            ? function.Responses : [];
        return TypedResults.Ok(responses.Select(r => new PageResponseDto(r.Pasid, r.GroupIndex, r.Code switch
        {
            Siov.Fast.Ats.PageResponseCode.Success => "success",
            Siov.Fast.Ats.PageResponseCode.InvalidRequest => "invalid",
            _ => "failure",
        })).ToArray());
    }

    public static Task<Results<Ok<HealthDto>, JsonHttpResult<HealthDto>>> Health(HealthCheckService health, CancellationToken cancel) =>
        Check(health, HealthChecks.Live, cancel);

    public static Task<Results<Ok<HealthDto>, JsonHttpResult<HealthDto>>> Ready(HealthCheckService health, CancellationToken cancel) =>
        Check(health, HealthChecks.Ready, cancel);

    // The health-check framework runs the checks with the tag; the answer keeps /healthz's {"status":"ok"} shape.
    private static async Task<Results<Ok<HealthDto>, JsonHttpResult<HealthDto>>> Check(HealthCheckService health, string tag, CancellationToken cancel)
    {
        HealthReport report = await health.CheckHealthAsync(c => c.Tags.Contains(tag), cancel);
        if (report.Status == HealthStatus.Healthy)
            return TypedResults.Ok(new HealthDto("ok"));
        string detail = string.Join("; ", report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy)
            .Select(e => $"{e.Key}: {e.Value.Description ?? e.Value.Exception?.Message}"));
        return TypedResults.Json(new HealthDto("unhealthy", detail), statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    public static Ok<PlatformDto> GetPlatform(PlatformState state)
    {
        var p = state.Platform;
        return TypedResults.Ok(new PlatformDto(p.Name, p.Description, p.Memory.Size, p.Memory.Frames.FreeFrames,
            [.. p.Iommus.Select(u => Dto.Unit(p, u))]));
    }

    public static Ok<DeviceDto[]> ListDevices(PlatformState state) =>
        TypedResults.Ok(state.Platform.Core.PciDevices.Select(d => Dto.Device(state.Platform, d)).ToArray());

    public static Results<Ok<DeviceDto>, ProblemHttpResult> GetDevice(string bdf, PlatformState state) =>
        Lookup.Device(state, bdf, out PciDevice? device, out ProblemHttpResult? problem)
            ? TypedResults.Ok(Dto.Device(state.Platform, device))
            : problem;

    public static Results<Ok<AuxFeatureDto>, ProblemHttpResult> GetAux(string bdf, PlatformState state)
    {
        if (!Lookup.Device(state, bdf, out PciDevice? device, out ProblemHttpResult? problem))
            return problem;
        IommuCore core = state.Platform.Core;
        return TypedResults.Ok(new AuxFeatureDto(device.Name, core.DevHasFeature(device, IommuDevFeature.Aux), core.DevFeatureEnabled(device, IommuDevFeature.Aux)));
    }

    public static Results<Ok<AuxFeatureDto>, ProblemHttpResult> EnableAux(string bdf, PlatformState state)
    {
        if (!Lookup.Device(state, bdf, out PciDevice? device, out ProblemHttpResult? problem))
            return problem;
        state.Platform.Core.DevEnableFeature(device, IommuDevFeature.Aux);
        return TypedResults.Ok(new AuxFeatureDto(device.Name, true, true));
    }

    public static Results<Ok<AuxFeatureDto>, ProblemHttpResult> DisableAux(string bdf, PlatformState state)
    {
        if (!Lookup.Device(state, bdf, out PciDevice? device, out ProblemHttpResult? problem))
            return problem;
        state.Platform.Core.DevDisableFeature(device, IommuDevFeature.Aux);
        return TypedResults.Ok(new AuxFeatureDto(device.Name, true, false));
    }

    public static Ok<GroupDto[]> ListGroups(PlatformState state) => TypedResults.Ok(state.Platform.Core.Groups.Select(Dto.Group).ToArray());

    public static Results<Ok<GroupDto>, ProblemHttpResult> GetGroup(int id, PlatformState state) =>
        state.Platform.Core.FindGroup(id) is { } group ? TypedResults.Ok(Dto.Group(group)) : Problems.NotFound($"no iommu group {id}");
}
