using Microsoft.AspNetCore.Http.HttpResults;
using Siov.Fast.Api.Durability;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Api.Infrastructure.Wire;
using Siov.Fast.Iommu;
using Siov.Fast.Iommufd;

namespace Siov.Fast.Api.Apis;

/// <summary>
/// <c>/iommufd</c>: iommufd contexts (an open <c>/dev/iommu</c> each, as a VMM holds one) and their objects: IOAS
/// (map, unmap, copy, IOVA ranges, allowed IOVAs), bound devices (attach, replace, detach, hardware info), paging and
/// nested HWPTs (dirty tracking, dirty bitmap, stage-1 invalidation) and <c>IOMMU_DESTROY</c>. Errors carry iommufd's
/// errno (docs/iommufd.md).
/// </summary>
internal static class IommufdApi
{
    public static IEndpointRouteBuilder MapIommufdApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder g = app.MapGroup("/iommufd").WithTags("iommufd").WithControlLock();
        g.MapGet("/", List).WithName("ListIommufdContexts").WithSummary("Open iommufd contexts with their objects");
        g.MapPost("/", Open).WithName("OpenIommufd").WithJournal().WithSummary("Open an iommufd context (/dev/iommu)");
        g.MapGet("/{ctx}", Get).WithName("GetIommufd").WithSummary("One context: its objects (IOAS areas, devices, HWPTs)");
        g.MapDelete("/{ctx}", Close).WithName("CloseIommufd").WithJournal()
            .WithSummary("Close a context: devices detached and unbound, HWPTs freed, IOASes emptied");
        g.MapDelete("/{ctx}/objects/{id}", Destroy).WithName("IommufdDestroy").WithJournal().WithSummary("IOMMU_DESTROY (EBUSY while in use)");
        g.MapPost("/{ctx}/ioas", AllocIoas).WithName("IommufdIoasAlloc").WithJournal().WithSummary("IOMMU_IOAS_ALLOC");
        g.MapPost("/{ctx}/ioas/{id}/map", Map).WithName("IommufdIoasMap").WithJournal()
            .WithSummary("IOMMU_IOAS_MAP: {iova?, hpa, length, prot}; without iova the IOAS chooses one; answers the iova");
        g.MapPost("/{ctx}/ioas/{id}/unmap", Unmap).WithName("IommufdIoasUnmap").WithJournal()
            .WithSummary("IOMMU_IOAS_UNMAP: {iova, length}; areas go whole (ENOENT for a cut); answers the bytes unmapped");
        g.MapPost("/{ctx}/ioas/{id}/copy", Copy).WithName("IommufdIoasCopy").WithJournal()
            .WithSummary("IOMMU_IOAS_COPY: {src_ioas, src_iova, length, iova?, prot}");
        g.MapPut("/{ctx}/ioas/{id}/allowed-iovas", AllowIovas).WithName("IommufdIoasAllowIovas").WithJournal()
            .WithSummary("IOMMU_IOAS_ALLOW_IOVAS: [{start, last}] (empty: everything)");
        g.MapPost("/{ctx}/devices", Bind).WithName("IommufdBindDevice").WithJournal()
            .WithSummary("VFIO_DEVICE_BIND_IOMMUFD: {device: a PCI address or an mdev UUID}");
        g.MapPost("/{ctx}/devices/{id}/attach", Attach).WithName("IommufdAttach").WithJournal()
            .WithSummary("VFIO_DEVICE_ATTACH_IOMMUFD_PT: {pt_id: an IOAS or a HWPT}; an attached device is replaced");
        g.MapPost("/{ctx}/devices/{id}/detach", Detach).WithName("IommufdDetach").WithJournal().WithSummary("VFIO_DEVICE_DETACH_IOMMUFD_PT");
        g.MapPost("/{ctx}/devices/{id}/pasids/{pasid}/attach", AttachPasid).WithName("IommufdAttachPasid").WithJournal()
            .WithSummary("Attach a HWPT at a PASID of a bound PCI device: {pt_id}; attached already, it is replaced");
        g.MapPost("/{ctx}/devices/{id}/pasids/{pasid}/detach", DetachPasid).WithName("IommufdDetachPasid").WithJournal()
            .WithSummary("Detach the HWPT at a PASID of a bound device");
        g.MapGet("/{ctx}/devices/{id}/hw-info", HwInfo).WithName("IommufdGetHwInfo").WithSummary("IOMMU_GET_HW_INFO (VT-d: flags, cap_reg, ecap_reg; SMMUv3: idr[6], iidr, aidr)");
        g.MapPost("/{ctx}/hwpts", AllocHwpt).WithName("IommufdHwptAlloc").WithJournal()
            .WithSummary("IOMMU_HWPT_ALLOC: {dev_id, pt_id, flags: [nest_parent, dirty_tracking], fault_id?} or nested {dev_id, pt_id, vtd_s1: {flags, pgtbl_addr, addr_width}, fault_id?}");
        g.MapPost("/{ctx}/faults", AllocFault).WithName("IommufdFaultQueueAlloc").WithJournal()
            .WithSummary("IOMMU_FAULT_QUEUE_ALLOC: a fault object that HWPTs allocated with its fault_id report page faults to");
        g.MapPost("/{ctx}/faults/{id}/read", ReadFaults).WithName("IommufdFaultRead").NotJournaled()
            .WithSummary("Read the fault object (its file's read): whole groups as records, at most ?max= (default 64, at most 1024); each group's records share a cookie");
        g.MapPost("/{ctx}/faults/{id}/responses", RespondFault).WithName("IommufdFaultRespond").NotJournaled()
            .WithSummary("Answer a group read from the fault object (its file's write): {cookie, code: success | invalid}");
        g.MapPost("/{ctx}/hwpts/{id}/dirty-tracking", SetDirtyTracking).WithName("IommufdSetDirtyTracking").WithJournal()
            .WithSummary("IOMMU_HWPT_SET_DIRTY_TRACKING: {enabled}");
        g.MapPost("/{ctx}/hwpts/{id}/dirty-bitmap", GetDirtyBitmap).WithName("IommufdGetDirtyBitmap").WithJournal()
            .WithSummary("IOMMU_HWPT_GET_DIRTY_BITMAP: {iova, length, page_size, no_clear?}; answers the dirty pages' IOVAs");
        g.MapPost("/{ctx}/hwpts/{id}/invalidate", Invalidate).WithName("IommufdHwptInvalidate").WithJournal()
            .WithSummary("IOMMU_HWPT_INVALIDATE of a nested HWPT: {addr, npages, leaf?}");
        return app;
    }

    public static Ok<IommufdContextDto[]> List(PlatformState state) =>
        TypedResults.Ok(state.IommufdContexts.OrderBy(c => c.Key).Select(c => Dto(c.Key, c.Value, listAreas: false)).ToArray());

    public static Created<IommufdContextDto> Open(PlatformState state)
    {
        (int id, IommufdContext context) = state.OpenIommufd();
        return TypedResults.Created($"/iommufd/{id}", Dto(id, context));
    }

    public static Results<Ok<IommufdContextDto>, ProblemHttpResult> Get(int ctx, PlatformState state) =>
        state.IommufdContexts.TryGetValue(ctx, out IommufdContext? c) ? TypedResults.Ok(Dto(ctx, c)) : Problems.NotFound($"no iommufd context {ctx}");

    public static Results<NoContent, ProblemHttpResult> Close(int ctx, PlatformState state) =>
        state.CloseIommufd(ctx) ? TypedResults.NoContent() : Problems.NotFound($"no iommufd context {ctx}");

    public static Results<NoContent, ProblemHttpResult> Destroy(int ctx, uint id, PlatformState state)
    {
        Context(state, ctx).Destroy(id);
        return TypedResults.NoContent();
    }

    public static Created<IommufdObjectDto> AllocIoas(int ctx, PlatformState state)
    {
        IommufdContext c = Context(state, ctx);
        RequireRoom(state, c);
        IommufdIoas ioas = c.AllocIoas();
        return TypedResults.Created($"/iommufd/{ctx}/ioas/{ioas.Id}", ObjectDto(ioas));
    }

    public static Results<Ok<IoasMapResult>, ProblemHttpResult> Map(int ctx, uint id, IoasMapRequest? request, PlatformState state)
    {
        if (request == null)
            return Problems.Invalid("the body must be {\"iova\"?, \"hpa\", \"length\", \"prot\"}");
        IommufdIoas ioas = Context(state, ctx).Get<IommufdIoas>(id);
        if (ioas.AreaCount >= state.Limits.MaxContainerMappings)
            throw new IommuException(Errno.ENOSPC, $"{ioas} holds {state.Limits.MaxContainerMappings} areas (Siov:Limits:MaxContainerMappings)");
        ulong? iova = request.Iova == null ? null : Hex.Parse(request.Iova, "iova");
        ulong mapped = ioas.Map(iova, Hex.Parse(request.Hpa, "hpa"), Hex.Parse(request.Length, "length"), Hex.ParseProtection(request.Prot ?? "rw"));
        return TypedResults.Ok(new IoasMapResult(Hex.Format(mapped)));
    }

    public static Results<Ok<IoasUnmapResult>, ProblemHttpResult> Unmap(int ctx, uint id, IoasUnmapRequest? request, PlatformState state)
    {
        if (request == null)
            return Problems.Invalid("the body must be {\"iova\", \"length\"}");
        ulong bytes = Context(state, ctx).Get<IommufdIoas>(id).Unmap(Hex.Parse(request.Iova, "iova"), Hex.Parse(request.Length, "length"));
        return TypedResults.Ok(new IoasUnmapResult(Hex.Format(bytes)));
    }

    public static Results<Ok<IoasMapResult>, ProblemHttpResult> Copy(int ctx, uint id, IoasCopyRequest? request, PlatformState state)
    {
        if (request?.SrcIoas is not uint source)
            return Problems.Invalid("the body must be {\"src_ioas\", \"src_iova\", \"length\", \"iova\"?, \"prot\"}");
        IommufdContext c = Context(state, ctx);
        ulong? iova = request.Iova == null ? null : Hex.Parse(request.Iova, "iova");
        ulong at = c.Get<IommufdIoas>(id).Copy(c.Get<IommufdIoas>(source), Hex.Parse(request.SrcIova, "src_iova"), Hex.Parse(request.Length, "length"),
            iova, Hex.ParseProtection(request.Prot ?? "rw"));
        return TypedResults.Ok(new IoasMapResult(Hex.Format(at)));
    }

    public static Results<Ok<IommufdObjectDto>, ProblemHttpResult> AllowIovas(int ctx, uint id, IovaRangeDto[]? ranges, PlatformState state)
    {
        if (ranges == null)
            return Problems.Invalid("the body must be a list of {\"start\", \"last\"}");
        if (ranges.Length > 1024)
            return Problems.Invalid($"{ranges.Length} ranges; at most 1024");
        IommufdIoas ioas = Context(state, ctx).Get<IommufdIoas>(id);
        ioas.AllowIovas([.. ranges.Select((r, i) => new IovaRange(Hex.Parse(r.Start, $"[{i}].start"), Hex.Parse(r.Last, $"[{i}].last")))]);
        return TypedResults.Ok(ObjectDto(ioas));
    }

    public static Results<Created<IommufdObjectDto>, ProblemHttpResult> Bind(int ctx, IommufdBindRequest? request, PlatformState state)
    {
        if (request?.Device == null)
            return Problems.Invalid("the body needs 'device': a PCI address or an mdev UUID");
        IommufdContext c = Context(state, ctx);
        RequireRoom(state, c);
        Device device = Guid.TryParse(request.Device, out Guid uuid)
            ? state.Platform.Core.FindMdev(uuid) ?? throw new IommuException(Errno.ENOENT, $"no mdev {uuid}")
            : Lookup.DeviceOrThrow(state, request.Device);
        IommufdDevice bound = c.BindDevice(device);
        return TypedResults.Created($"/iommufd/{ctx}/devices/{bound.Id}", ObjectDto(bound));
    }

    public static Results<Ok<IommufdObjectDto>, ProblemHttpResult> Attach(int ctx, uint id, IommufdAttachRequest? request, PlatformState state)
    {
        if (request?.PtId is not uint pt)
            return Problems.Invalid("the body needs 'pt_id': an IOAS or a HWPT id");
        IommufdContext c = Context(state, ctx);
        c.Attach(id, pt);
        return TypedResults.Ok(ObjectDto(c.Get<IommufdDevice>(id)));
    }

    public static Results<NoContent, ProblemHttpResult> Detach(int ctx, uint id, PlatformState state)
    {
        Context(state, ctx).Detach(id);
        return TypedResults.NoContent();
    }

    public static Results<Ok<IommufdObjectDto>, ProblemHttpResult> AttachPasid(int ctx, uint id, uint pasid, IommufdAttachRequest? request, PlatformState state)
    {
        if (request?.PtId is not uint pt)
            return Problems.Invalid("the body needs 'pt_id': a HWPT id");
        IommufdContext c = Context(state, ctx);
        c.AttachPasid(id, pasid, pt);
        return TypedResults.Ok(ObjectDto(c.Get<IommufdDevice>(id)));
    }

    public static Results<NoContent, ProblemHttpResult> DetachPasid(int ctx, uint id, uint pasid, PlatformState state)
    {
        Context(state, ctx).DetachPasid(id, pasid);
        return TypedResults.NoContent();
    }

    public static Ok<HwInfoDto> HwInfo(int ctx, uint id, PlatformState state)
    {
        IommufdHwInfo info = Context(state, ctx).GetHwInfo(id);
        return TypedResults.Ok(info.DataType == IommufdHwInfo.ArmSmmuV3
            ? new HwInfoDto("arm_smmuv3", info.DataType, info.Flags, null, null, info.DirtyTracking,
                [.. info.SmmuIdr.Select(r => Hex.Format(r))], Hex.Format(info.SmmuIidr), Hex.Format(info.SmmuAidr))
            : new HwInfoDto("intel_vtd", info.DataType, info.Flags, Hex.Format(info.CapabilityRegister),
                Hex.Format(info.ExtendedCapabilityRegister), info.DirtyTracking));
    }

    public static Results<Created<IommufdObjectDto>, ProblemHttpResult> AllocHwpt(int ctx, HwptAllocRequest? request, PlatformState state)
    {
        if (request?.DevId is not uint dev || request.PtId is not uint pt)
            return Problems.Invalid("the body needs 'dev_id' and 'pt_id'");
        IommufdContext c = Context(state, ctx);
        RequireRoom(state, c);
        IommufdHwpt hwpt;
        if (request.VtdS1 is { } s1)
        {
            var flags = VtdStage1Options.None;
            foreach (string flag in s1.Flags ?? [])
            {
                flags |= flag switch
                {
                    "sre" => VtdStage1Options.SupervisorRequests,
                    "wpe" => VtdStage1Options.WriteProtect,
                    "eafe" => VtdStage1Options.ExtendedAccessedFlag,
                    _ => throw new IommuException(Errno.EOPNOTSUPP, $"vtd_s1.flags: '{flag}' is not sre, wpe or eafe"),
                };
            }
            hwpt = c.AllocHwptNested(dev, pt, new VtdStage1(flags, Hex.Parse(s1.PgtblAddr, "vtd_s1.pgtbl_addr"), s1.AddrWidth ?? 48),
                request.FaultId ?? 0);
        }
        else
        {
            var flags = IommufdHwptAllocOptions.None;
            foreach (string flag in request.Flags ?? [])
            {
                flags |= flag switch
                {
                    "nest_parent" => IommufdHwptAllocOptions.NestParent,
                    "dirty_tracking" => IommufdHwptAllocOptions.DirtyTracking,
                    _ => throw new IommuException(Errno.EOPNOTSUPP, $"flags: '{flag}' is not nest_parent or dirty_tracking"),
                };
            }
            if (request.FaultId is not null)
                flags |= IommufdHwptAllocOptions.FaultIdValid;
            hwpt = c.AllocHwpt(dev, pt, flags, request.FaultId ?? 0);
        }
        return TypedResults.Created($"/iommufd/{ctx}/hwpts/{hwpt.Id}", ObjectDto(hwpt));
    }

    public static Results<Ok<IommufdObjectDto>, ProblemHttpResult> SetDirtyTracking(int ctx, uint id, DirtyTrackingRequest? request, PlatformState state)
    {
        if (request?.Enabled is not bool enabled)
            return Problems.Invalid("the body needs 'enabled': true or false");
        IommufdHwptPaging hwpt = Context(state, ctx).Get<IommufdHwptPaging>(id);
        hwpt.SetDirtyTracking(enabled);
        return TypedResults.Ok(ObjectDto(hwpt));
    }

    public static Results<Ok<DirtyBitmapDto>, ProblemHttpResult> GetDirtyBitmap(int ctx, uint id, DirtyBitmapRequest? request, PlatformState state)
    {
        if (request == null)
            return Problems.Invalid("the body must be {\"iova\", \"length\", \"page_size\", \"no_clear\"?}");
        ulong iova = Hex.Parse(request.Iova, "iova"), pageSize = Hex.Parse(request.PageSize, "page_size");
        ulong[] bitmap = Context(state, ctx).Get<IommufdHwptPaging>(id).GetDirtyBitmap(iova, Hex.Parse(request.Length, "length"), pageSize, request.NoClear ?? false);
        var dirty = new List<string>();
        for (int w = 0; w < bitmap.Length; w++)
        {
            for (ulong bits = bitmap[w]; bits != 0; bits &= bits - 1)
                dirty.Add(Hex.Format(iova + ((ulong)w * 64 + (ulong)System.Numerics.BitOperations.TrailingZeroCount(bits)) * pageSize));
        }
        return TypedResults.Ok(new DirtyBitmapDto([.. bitmap.Select(Hex.Format)], [.. dirty]));
    }

    public static Results<NoContent, ProblemHttpResult> Invalidate(int ctx, uint id, HwptInvalidateRequest? request, PlatformState state)
    {
        if (request == null)
            return Problems.Invalid("the body must be {\"addr\", \"npages\", \"leaf\"?}");
        Context(state, ctx).Get<IommufdHwptNested>(id).Invalidate(Hex.Parse(request.Addr, "addr"), Hex.Parse(request.Npages, "npages"), request.Leaf ?? false);
        return TypedResults.NoContent();
    }

    public static Created<IommufdObjectDto> AllocFault(int ctx, PlatformState state)
    {
        IommufdContext c = Context(state, ctx);
        RequireRoom(state, c);
        IommufdFault fault = c.AllocFault();
        return TypedResults.Created($"/iommufd/{ctx}/faults/{fault.Id}", ObjectDto(fault));
    }

    public static Results<Ok<PageFaultDto[]>, ProblemHttpResult> ReadFaults(int ctx, uint id, PlatformState state, int? max = null)
    {
        if (max is < 1 or > IommufdFault.MaxQueuedGroups)
            return Problems.Invalid($"max {max} is outside 1-{IommufdFault.MaxQueuedGroups}");
        IReadOnlyList<IommufdPageFault> records = Context(state, ctx).Get<IommufdFault>(id).Read(max ?? 64);
        return TypedResults.Ok(records.Select(r => new PageFaultDto(
            [.. new[] { (r.Flags & IommufdPageFaultAttributes.PasidValid) != 0 ? "pasid_valid" : null,
                (r.Flags & IommufdPageFaultAttributes.LastPage) != 0 ? "last_page" : null }.OfType<string>()],
            r.DevId, r.Pasid, r.GroupId,
            [.. new[] { (r.Permissions & IommufdPageFaultPermissions.Read) != 0 ? "read" : null,
                (r.Permissions & IommufdPageFaultPermissions.Write) != 0 ? "write" : null,
                (r.Permissions & IommufdPageFaultPermissions.Execute) != 0 ? "exec" : null,
                (r.Permissions & IommufdPageFaultPermissions.Privileged) != 0 ? "priv" : null }.OfType<string>()],
            Hex.Format(r.Address), r.Length, r.Cookie)).ToArray());
    }

    public static Results<NoContent, ProblemHttpResult> RespondFault(int ctx, uint id, PageResponseRequest? request, PlatformState state)
    {
        if (request?.Cookie is not uint cookie)
            return Problems.Invalid("the body needs 'cookie' (from a read) and 'code': success or invalid");
        IommufdPageResponseCode code = request.Code switch
        {
            "success" => IommufdPageResponseCode.Success,
            "invalid" => IommufdPageResponseCode.Invalid,
            _ => throw new IommuException(Errno.EINVAL, $"code '{request.Code}' is neither success nor invalid"),
        };
        Context(state, ctx).Get<IommufdFault>(id).Respond(cookie, code);
        return TypedResults.NoContent();
    }

    private static IommufdContext Context(PlatformState state, int ctx) =>
        state.IommufdContexts.TryGetValue(ctx, out IommufdContext? c) ? c : throw new IommuException(Errno.ENOENT, $"no iommufd context {ctx}");

    private static void RequireRoom(PlatformState state, IommufdContext context)
    {
        if (context.Objects.Count >= state.Limits.MaxIommufdObjects)
            throw new IommuException(Errno.ENOSPC, $"the context holds {state.Limits.MaxIommufdObjects} objects (Siov:Limits:MaxIommufdObjects); destroy some first");
    }

    // The list answers area counts only (bounded); one context's GET lists the areas.
    private static IommufdContextDto Dto(int id, IommufdContext context, bool listAreas = true) =>
        new(id, [.. context.Objects.Select(o => ObjectDto(o, listAreas))]);

    private static IommufdObjectDto ObjectDto(IommufdObject o) => ObjectDto(o, listAreas: true);

    private static IommufdObjectDto ObjectDto(IommufdObject o, bool listAreas) => o switch
    {
        IommufdIoas ioas => new(o.Id, "ioas", o.Users, AreaCount: ioas.AreaCount,
            Areas: listAreas ? [.. ioas.Areas.Select(a => Infrastructure.Wire.Dto.Mapping(a.Iova, a.Hpa, a.Length, a.Protection))] : null,
            IovaRanges: [.. ioas.IovaRanges().Select(r => new IovaRangeDto(Hex.Format(r.Start), Hex.Format(r.Last)))]),
        IommufdDevice d => new(o.Id, "device", o.Users, Device: d.Device.Name, AttachedTo: d.Hwpt?.Id,
            Pasids: d.PasidHwpts.Count == 0 ? null : [.. d.PasidHwpts.OrderBy(p => p.Key).Select(p => new PasidAttachmentDto(p.Key, p.Value.Id))]),
        IommufdHwptPaging p => new(o.Id, "hwpt_paging", o.Users, Ioas: p.Ioas.Id, Domain: p.Domain.Id, Auto: p.IsAuto,
            Flags: [.. new[] { (p.Flags & IommufdHwptAllocOptions.NestParent) != 0 ? "nest_parent" : null,
                (p.Flags & IommufdHwptAllocOptions.DirtyTracking) != 0 ? "dirty_tracking" : null }.OfType<string>()],
            DirtyTracking: p.Domain.DirtyTracking, FaultId: p.Fault?.Id),
        IommufdHwptNested n => new(o.Id, "hwpt_nested", o.Users, Domain: n.Domain.Id, Parent: n.Parent.Id,
            VtdS1: new VtdS1Dto(null, Hex.Format(n.Stage1.PageTableAddress), n.Stage1.AddressWidth), FaultId: n.Fault?.Id),
        IommufdFault f => new(o.Id, "fault", o.Users, Unread: f.UnreadGroups, AwaitingResponse: f.AwaitingResponse),
        _ => new(o.Id, o.Type.ToString(), o.Users),
    };
}
