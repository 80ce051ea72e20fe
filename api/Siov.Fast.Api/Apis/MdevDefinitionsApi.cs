using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Siov.Fast.Api.Durability;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Api.Infrastructure.Wire;
using Siov.Fast.Api.Mdevctl;
using Siov.Fast.Iommu;

namespace Siov.Fast.Api.Apis;

/// <summary>
/// <c>/mdev/definitions</c>: mdevctl's model of defined mediated devices. <c>define</c>, <c>undefine</c>,
/// <c>modify</c>, <c>start</c>, <c>stop</c>, list defined (with whether each is active; <c>/mdevs</c> lists the active
/// ones), and mdevctl's JSON both ways (<c>import</c>, <c>export</c>). Definitions are durable like every other call;
/// those with <c>start: auto</c> are started when the server starts. A modification takes effect at the next start,
/// as with mdevctl. Attributes are kept and exported; the modelled parents have no writable attributes to apply them to.
/// </summary>
internal static class MdevDefinitionsApi
{
    public static IEndpointRouteBuilder MapMdevDefinitionsApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder definitions = app.MapGroup("/mdev/definitions").WithTags("mdev").WithControlLock();
        definitions.MapGet("/", List).WithName("ListMdevDefinitions").WithSummary("Defined mdevs (mdevctl list --defined), each with whether it is active");
        definitions.MapPost("/", Define).WithName("DefineMdev").WithJournal(FixUuid)
            .WithSummary("mdevctl define: {uuid?, parent, mdev_type, start: auto|manual, attrs: [{name: value}]}; {uuid} alone defines a running mdev as it is");
        definitions.MapGet("/export", Export).WithName("ExportMdevDefinitions").WithSummary("mdevctl list --defined --dumpjson: [{PARENT: [{UUID: {mdev_type, start, attrs}}]}]");
        definitions.MapPost("/import", Import).WithName("ImportMdevDefinitions").WithJournal()
            .WithSummary("Define every mdev of mdevctl's --dumpjson list, or one config object with ?parent=&uuid=; all or nothing");
        definitions.MapGet("/{uuid}", Get).WithName("GetMdevDefinition").WithSummary("One definition; ?format=mdevctl answers its config as mdevctl --dumpjson prints it");
        definitions.MapPatch("/{uuid}", Modify).WithName("ModifyMdev").WithJournal()
            .WithSummary("mdevctl modify: any of {parent, mdev_type, start, attrs}; a running mdev takes it at its next start");
        definitions.MapDelete("/{uuid}", Undefine).WithName("UndefineMdev").WithJournal().WithSummary("mdevctl undefine: forget the definition; a running mdev keeps running");
        definitions.MapPost("/{uuid}/start", Start).WithName("StartMdev").WithJournal().WithSummary("mdevctl start -u UUID: create the defined mdev");
        definitions.MapPost("/{uuid}/stop", Stop).WithName("StopMdev").WithJournal().WithSummary("mdevctl stop -u UUID: remove the running mdev (EBUSY while in use)");
        return app;
    }

    public static Ok<MdevDefinitionDto[]> List(PlatformState state) =>
        TypedResults.Ok(state.MdevDefinitions.Values.Select(d => Dto(state, d)).ToArray());

    public static Results<Ok<MdevDefinitionDto>, ContentHttpResult, ProblemHttpResult> Get(string uuid, string? format, PlatformState state)
    {
        Guid id = ParseUuid(uuid);
        if (!state.MdevDefinitions.TryGetValue(id, out MdevDefinition? definition))
            return Problems.NotFound($"no mdev definition {id}");
        return format switch
        {
            null => TypedResults.Ok(Dto(state, definition)),
            "mdevctl" => TypedResults.Content(MdevctlJson.Config(definition).ToJsonString(Indented), "application/json"),
            _ => Problems.Invalid($"query parameter 'format' is '{format}', expected mdevctl"),
        };
    }

    public static ContentHttpResult Export(PlatformState state) =>
        TypedResults.Content(MdevctlJson.List(state.MdevDefinitions.Values).ToJsonString(Indented), "application/json");

    public static Results<Created<MdevDefinitionDto>, ProblemHttpResult> Define(DefineMdevRequest? request, PlatformState state)
    {
        if (request == null || (request.Uuid == null && request.Parent == null))
            return Problems.Invalid("the body needs 'parent' and 'mdev_type' (and 'uuid', 'start', 'attrs' as wanted), or the 'uuid' of a running mdev");
        // Journalled calls have their UUID chosen before the record is written (FixUuid); others choose it here.
        Guid id = request.Uuid == null ? Guid.NewGuid() : ParseUuid(request.Uuid, "uuid");
        MdevDefinition definition;
        if (request.Parent == null && request.MdevType == null)
        {
            // mdevctl define -u UUID: a running mdev becomes a defined one, as it is.
            MediatedDevice mdev = state.Platform.Core.FindMdev(id) ?? throw new IommuException(Errno.ENOENT, $"no running mdev {id} to define; give 'parent' and 'mdev_type'");
            definition = new MdevDefinition(id, mdev.Parent.Name, mdev.Type.Id, StartOf(request.Start), Attrs(request.Attrs));
        }
        else
        {
            if (request.Parent == null || request.MdevType == null)
                return Problems.Invalid("a definition needs both 'parent' and 'mdev_type'");
            definition = MdevctlJson.ParseConfig(ConfigOf(request.MdevType, request.Start, request.Attrs),
                MdevctlJson.CheckParent(request.Parent, "parent"), id, "body");
        }
        Add(state, [definition]);
        return TypedResults.Created($"/mdev/definitions/{id}", Dto(state, definition));
    }

    public static Results<Ok<ImportResultDto>, ProblemHttpResult> Import([FromBody] JsonElement body, string? parent, string? uuid, PlatformState state)
    {
        Guid? id = uuid == null ? null : ParseUuid(uuid, "uuid");
        List<MdevDefinition> definitions = MdevctlJson.Parse(body, parent, id, state.Limits.MaxMdevDefinitions);
        Add(state, definitions);
        return TypedResults.Ok(new ImportResultDto(definitions.Count, [.. definitions.Select(d => d.Uuid.ToString())]));
    }

    public static Results<Ok<MdevDefinitionDto>, ProblemHttpResult> Modify(string uuid, ModifyMdevRequest? request, PlatformState state)
    {
        Guid id = ParseUuid(uuid);
        if (!state.MdevDefinitions.TryGetValue(id, out MdevDefinition? old))
            return Problems.NotFound($"no mdev definition {id}");
        if (request == null || (request.Parent == null && request.MdevType == null && request.Start == null && request.Attrs == null))
            return Problems.Invalid("the body needs one of 'parent', 'mdev_type', 'start', 'attrs'");
        MdevDefinition updated = MdevctlJson.ParseConfig(ConfigOf(request.MdevType ?? old.MdevType, request.Start ?? old.Start, request.Attrs),
            request.Parent == null ? old.Parent : MdevctlJson.CheckParent(request.Parent, "parent"), id, "body");
        if (request.Attrs == null)
            updated = updated with { Attrs = old.Attrs };
        state.MdevDefinitions[id] = updated;
        return TypedResults.Ok(Dto(state, updated));
    }

    public static Results<NoContent, ProblemHttpResult> Undefine(string uuid, PlatformState state)
    {
        Guid id = ParseUuid(uuid);
        return state.MdevDefinitions.Remove(id) ? TypedResults.NoContent() : Problems.NotFound($"no mdev definition {id}");
    }

    public static Results<Ok<MdevDto>, ProblemHttpResult> Start(string uuid, PlatformState state)
    {
        Guid id = ParseUuid(uuid);
        if (!state.MdevDefinitions.TryGetValue(id, out MdevDefinition? definition))
            return Problems.NotFound($"no mdev definition {id}");
        if (!PciAddress.TryParse(definition.Parent, out PciAddress address) || state.Platform.Core.FindPciDevice(address) is not { } parent)
            throw new IommuException(Errno.ENODEV, $"mdev {id}: parent {definition.Parent} is not a PCI device of this platform");
        MediatedDevice mdev = state.Platform.Core.MdevCreate(parent, definition.MdevType, id); // EEXIST when running, ENOSPC when full
        return TypedResults.Ok(Infrastructure.Wire.Dto.Mdev(state.Platform.Core, mdev));
    }

    public static Results<NoContent, ProblemHttpResult> Stop(string uuid, PlatformState state)
    {
        Guid id = ParseUuid(uuid);
        state.Platform.Core.MdevRemove(id); // ENOENT when not running, EBUSY while attached or in a container
        return TypedResults.NoContent();
    }

    /// <summary>Starts every <c>auto</c> definition that is not running, as mdevctl does when a parent appears; each start
    /// is journalled like a call. Returns what failed, for the log.</summary>
    public static List<string> StartAuto(PlatformState state)
    {
        var failures = new List<string>();
        foreach (MdevDefinition definition in state.MdevDefinitions.Values.Where(d => d.Start == MdevDefinition.Auto).ToArray())
        {
            if (state.Platform.Core.FindMdev(definition.Uuid) != null)
                continue;
            try
            {
                object result = state.RunJournaled("StartMdev", () => JsonSerializer.SerializeToUtf8Bytes(new object?[] { definition.Uuid.ToString(), null }),
                    () => (object)Start(definition.Uuid.ToString(), state));
                if (!Journaling.Succeeded(result))
                    failures.Add($"mdev {definition.Uuid}: not started");
            }
            catch (IommuException e)
            {
                failures.Add($"mdev {definition.Uuid} (start: auto) was not started: {e.Message}");
            }
        }
        return failures;
    }

    /// <summary>Chooses the UUID of a definition made without one before the call is journalled.</summary>
    private static void FixUuid(IList<object?> arguments)
    {
        if (arguments[0] is DefineMdevRequest { Uuid: null, Parent: not null } request)
            arguments[0] = request with { Uuid = Guid.NewGuid().ToString() };
    }

    private static void Add(PlatformState state, List<MdevDefinition> definitions)
    {
        foreach (MdevDefinition d in definitions)
        {
            if (state.MdevDefinitions.ContainsKey(d.Uuid))
                throw new IommuException(Errno.EEXIST, $"mdev {d.Uuid} is defined already (modify or undefine it first)");
        }
        if (state.MdevDefinitions.Count + definitions.Count > state.Limits.MaxMdevDefinitions)
            throw new IommuException(Errno.ENOSPC, $"the limit of {state.Limits.MaxMdevDefinitions} mdev definitions (Siov:Limits:MaxMdevDefinitions) would be passed");
        foreach (MdevDefinition d in definitions)
            state.MdevDefinitions.Add(d.Uuid, d);
    }

    private static JsonElement ConfigOf(string type, string? start, JsonElement? attrs)
    {
        var config = new JsonObject { ["mdev_type"] = type };
        if (start != null)
            config["start"] = start;
        if (attrs is JsonElement a)
            config["attrs"] = JsonNode.Parse(a.GetRawText());
        return JsonSerializer.SerializeToElement(config);
    }

    private static string StartOf(string? start) =>
        start == null ? MdevDefinition.Manual : MdevctlJson.Start(JsonSerializer.SerializeToElement(start), "start");

    private static IReadOnlyList<KeyValuePair<string, string>> Attrs(JsonElement? attrs) => attrs is JsonElement a ? MdevctlJson.Attrs(a, "attrs") : [];

    private static Guid ParseUuid(string uuid, string what = "the UUID in the path") =>
        Guid.TryParse(uuid, out Guid id) ? id : throw new ProblemException("EINVAL", StatusCodes.Status400BadRequest, $"EINVAL: {what} '{(uuid.Length > 40 ? uuid[..40] : uuid)}' is not a UUID");

    private static MdevDefinitionDto Dto(PlatformState state, MdevDefinition d) =>
        new(d.Uuid.ToString(), d.Parent, d.MdevType, d.Start, [.. d.Attrs.Select(a => new Dictionary<string, string> { [a.Key] = a.Value })],
            state.Platform.Core.FindMdev(d.Uuid) != null);

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
