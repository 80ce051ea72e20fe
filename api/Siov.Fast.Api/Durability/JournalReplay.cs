using System.Diagnostics;
using System.Text.Json;
using Siov.Fast.Api.Apis;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Api.Infrastructure.Wire;

namespace Siov.Fast.Api.Durability;

/// <summary>
/// Start-up restore: replays every journalled call into the freshly loaded platform by calling the same handler with
/// the same arguments, in order, and checks each outcome against the one recorded with the next record. The engine is
/// deterministic and a failed call changes nothing, so the state that results is the state after the last journalled
/// call (which may not have been acknowledged: it was in flight).
/// </summary>
internal static class JournalReplay
{
    private delegate object? Replay(Arguments arguments, PlatformState state);

    /// <summary>Every journalled endpoint by name, and how its call is replayed.</summary>
    private static readonly Dictionary<string, Replay> s_operations = new()
    {
        ["CreateDomain"] = (a, s) => DomainsApi.Create(a.Get<CreateDomainRequest>(0), s),
        ["DeleteDomain"] = (a, s) => DomainsApi.Delete(a.Get<int>(0), s),
        ["MapRange"] = (a, s) => DomainsApi.Map(a.Get<int>(0), a.Get<MapRequest>(1), s),
        ["UnmapRange"] = (a, s) => DomainsApi.Unmap(a.Get<int>(0), a.Get<string>(1), a.Get<string>(2), s),
        ["Attach"] = (a, s) => DomainsApi.Attach(a.Get<int>(0), a.Get<AttachRequest>(1), s),
        ["Detach"] = (a, s) => DomainsApi.Detach(a.Get<int>(0), a.Get<string>(1), a.Get<int?>(2), a.Get<bool?>(3), a.Get<uint?>(4), s),
        ["CreateContainer"] = (a, s) => ContainersApi.Create(s),
        ["DeleteContainer"] = (a, s) => ContainersApi.Delete(a.Get<int>(0), s),
        ["ContainerAttachGroup"] = (a, s) => ContainersApi.AttachGroup(a.Get<int>(0), a.Get<ContainerGroupRequest>(1), s),
        ["ContainerDetachGroup"] = (a, s) => ContainersApi.DetachGroup(a.Get<int>(0), a.Get<int>(1), s),
        ["ContainerMapDma"] = (a, s) => ContainersApi.MapDma(a.Get<int>(0), a.Get<MapRequest>(1), s),
        ["ContainerUnmapDma"] = (a, s) => ContainersApi.UnmapDma(a.Get<int>(0), a.Get<string>(1), a.Get<string>(2), s),
        ["CreateMdev"] = (a, s) => MdevApi.Create(a.Get<CreateMdevRequest>(0), s),
        ["RemoveMdev"] = (a, s) => MdevApi.Remove(a.Get<string>(0)!, s),
        ["EnableAuxFeature"] = (a, s) => PlatformApi.EnableAux(a.Get<string>(0)!, s),
        ["DisableAuxFeature"] = (a, s) => PlatformApi.DisableAux(a.Get<string>(0)!, s),
        ["EnableSanitizer"] = (a, s) => SanitizerApi.Enable(s),
        ["DefineMdev"] = (a, s) => MdevDefinitionsApi.Define(a.Get<DefineMdevRequest>(0), s),
        ["ImportMdevDefinitions"] = (a, s) => MdevDefinitionsApi.Import(a.Get<JsonElement>(0), a.Get<string>(1), a.Get<string>(2), s),
        ["ModifyMdev"] = (a, s) => MdevDefinitionsApi.Modify(a.Get<string>(0)!, a.Get<ModifyMdevRequest>(1), s),
        ["UndefineMdev"] = (a, s) => MdevDefinitionsApi.Undefine(a.Get<string>(0)!, s),
        ["StartMdev"] = (a, s) => MdevDefinitionsApi.Start(a.Get<string>(0)!, s),
        ["StopMdev"] = (a, s) => MdevDefinitionsApi.Stop(a.Get<string>(0)!, s),
        ["OpenIommufd"] = (a, s) => IommufdApi.Open(s),
        ["CloseIommufd"] = (a, s) => IommufdApi.Close(a.Get<int>(0), s),
        ["IommufdDestroy"] = (a, s) => IommufdApi.Destroy(a.Get<int>(0), a.Get<uint>(1), s),
        ["IommufdIoasAlloc"] = (a, s) => IommufdApi.AllocIoas(a.Get<int>(0), s),
        ["IommufdIoasMap"] = (a, s) => IommufdApi.Map(a.Get<int>(0), a.Get<uint>(1), a.Get<IoasMapRequest>(2), s),
        ["IommufdIoasUnmap"] = (a, s) => IommufdApi.Unmap(a.Get<int>(0), a.Get<uint>(1), a.Get<IoasUnmapRequest>(2), s),
        ["IommufdIoasCopy"] = (a, s) => IommufdApi.Copy(a.Get<int>(0), a.Get<uint>(1), a.Get<IoasCopyRequest>(2), s),
        ["IommufdIoasAllowIovas"] = (a, s) => IommufdApi.AllowIovas(a.Get<int>(0), a.Get<uint>(1), a.Get<IovaRangeDto[]>(2), s),
        ["IommufdBindDevice"] = (a, s) => IommufdApi.Bind(a.Get<int>(0), a.Get<IommufdBindRequest>(1), s),
        ["IommufdAttach"] = (a, s) => IommufdApi.Attach(a.Get<int>(0), a.Get<uint>(1), a.Get<IommufdAttachRequest>(2), s),
        ["IommufdDetach"] = (a, s) => IommufdApi.Detach(a.Get<int>(0), a.Get<uint>(1), s),
        ["IommufdAttachPasid"] = (a, s) => IommufdApi.AttachPasid(a.Get<int>(0), a.Get<uint>(1), a.Get<uint>(2), a.Get<IommufdAttachRequest>(3), s),
        ["IommufdDetachPasid"] = (a, s) => IommufdApi.DetachPasid(a.Get<int>(0), a.Get<uint>(1), a.Get<uint>(2), s),
        ["IommufdHwptAlloc"] = (a, s) => IommufdApi.AllocHwpt(a.Get<int>(0), a.Get<HwptAllocRequest>(1), s),
        ["IommufdSetDirtyTracking"] = (a, s) => IommufdApi.SetDirtyTracking(a.Get<int>(0), a.Get<uint>(1), a.Get<DirtyTrackingRequest>(2), s),
        ["IommufdGetDirtyBitmap"] = (a, s) => IommufdApi.GetDirtyBitmap(a.Get<int>(0), a.Get<uint>(1), a.Get<DirtyBitmapRequest>(2), s),
        ["IommufdHwptInvalidate"] = (a, s) => IommufdApi.Invalidate(a.Get<int>(0), a.Get<uint>(1), a.Get<HwptInvalidateRequest>(2), s),
        ["IommufdFaultQueueAlloc"] = (a, s) => IommufdApi.AllocFault(a.Get<int>(0), s),
    };

    /// <summary>The names of the journalled endpoints that replay by their JSON arguments; <c>MapRanges</c> has a
    /// binary record of its own.</summary>
    public static IEnumerable<string> Operations => s_operations.Keys.Append("MapRanges");

    /// <summary>Replays <paramref name="records"/> into <paramref name="state"/> (its journal not yet attached, so
    /// nothing is appended again).</summary>
    /// <returns>How long it took.</returns>
    /// <exception cref="StateException">A record names an unknown operation, cannot be read, or its outcome differs from
    /// the recorded one (the state cannot be rebuilt as it was acknowledged).</exception>
    public static TimeSpan Restore(PlatformState state, IReadOnlyList<JournalRecord> records, JsonSerializerOptions json)
    {
        Debug.Assert(state.Journal == null);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < records.Count; i++)
        {
            JournalRecord record = records[i];
            bool succeeded = Apply(state, record, json);
            bool? recorded = i + 1 < records.Count ? records[i + 1].PreviousSucceeded : null;
            if (recorded is bool expected && expected != succeeded)
            {
                throw new StateException(
                    $"replaying record {record.Sequence} ({record.Operation}) {(succeeded ? "succeeded" : "failed")} where the call {(expected ? "succeeded" : "failed")} when it was made " +
                    "(were the Siov:Limits or the platform changed?); nothing was changed on disk");
            }
        }
        return clock.Elapsed;
    }

    private static bool Apply(PlatformState state, JournalRecord record, JsonSerializerOptions json)
    {
        try
        {
            if (record.Operation == "MapRanges")
            {
                (int id, Siov.Fast.PageTables.IoMapping[] mappings) = MapBatchRecord.Decode(record.Arguments);
                return Journaling.Succeeded(DomainsApi.ApplyMapBatch(state, id, mappings));
            }
            if (!s_operations.TryGetValue(record.Operation, out Replay? replay))
                throw new StateException($"record {record.Sequence} names '{record.Operation}', which this server does not know");
            JsonElement arguments;
            try
            {
                arguments = JsonSerializer.Deserialize<JsonElement>(record.Arguments);
            }
            catch (JsonException e)
            {
                throw new StateException($"record {record.Sequence} ({record.Operation}) cannot be read: {e.Message}");
            }
            return Journaling.Succeeded(replay(new Arguments(arguments, json), state));
        }
        catch (StateException)
        {
            throw;
        }
        catch (Exception e) when (e is IommuException or ProblemException or ArgumentException or FormatException or JsonException)
        {
            return false; // the call failed as it did when it was made (the check is the caller's)
        }
    }

    /// <summary>A record's arguments: element <c>i</c> is the handler's parameter <c>i</c> (null for services).</summary>
    private readonly struct Arguments(JsonElement array, JsonSerializerOptions json)
    {
        public T? Get<T>(int index) =>
            array.ValueKind == JsonValueKind.Array && index < array.GetArrayLength() ? array[index].Deserialize<T>(json) : default;
    }
}
