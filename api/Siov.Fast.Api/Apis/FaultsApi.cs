using Siov.Fast.Drivers.ArmSmmuV3;
using Siov.Fast.Hardware.SmmuV3;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Siov.Fast.Api.Durability;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Api.Infrastructure.Wire;
using Siov.Fast.Hardware.Vtd;

namespace Siov.Fast.Api.Apis;

/// <summary><c>/faults</c> and <c>/stats</c>: what the units recorded and counted.</summary>
internal static class FaultsApi
{
    public static IEndpointRouteBuilder MapFaultsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/faults", List).WithName("ListFaults").WithTags("faults")
            .Produces<FaultLogDto[]>(StatusCodes.Status200OK, "application/json", "text/plain") // text/plain: ?format=linux (a string in the document)
            .WithSummary("Recorded faults per unit (oldest first, not drained); ?format=linux answers text/plain lines as Linux prints them");
        app.MapDelete("/faults", Drain).WithName("DrainFaults").NotJournaled().WithTags("faults")
            .WithSummary("Drain every unit's fault log and clear primary fault overflow; answers what was drained");
        app.MapGet("/stats", Stats).WithName("GetStats").WithTags("stats")
            .WithSummary("Per-unit counters: translations, IOTLB hits/misses, walks, invalidations, faults");
        return app;
    }

    public static Results<Ok<FaultLogDto[]>, ContentHttpResult, ProblemHttpResult> List(string? format, PlatformState state)
    {
        FaultLogDto[] logs = [.. state.Platform.Units.Select(u => Log(state, u, DriverLog(state, u).Peek())), .. state.Platform.Smmus.Select(s => Events(state, s))];
        return format switch
        {
            null or "json" => TypedResults.Ok(logs),
            "linux" => TypedResults.Text(string.Concat(logs.SelectMany(l => l.Faults.Select(f => f.Linux).Concat(l.Events ?? [])).Select(line => line + "\n")),
                "text/plain", Encoding.UTF8),
            _ => Problems.Invalid($"query parameter 'format' is '{format}', expected json or linux"),
        };
    }

    public static Ok<FaultLogDto[]> Drain(PlatformState state) =>
        TypedResults.Ok(state.Platform.Units.Select(u =>
        {
            FaultLog faults = DriverLog(state, u);
            FaultLogDto log = Log(state, u, faults.ReadAll());
            faults.ClearOverflow();
            return log;
        }).ToArray());

    public static Ok<StatsDto[]> Stats(PlatformState state) =>
        TypedResults.Ok(state.Platform.Units.Select(u =>
        {
            RemappingStatistics s = u.Statistics;
            return new StatsDto(Dto.UnitName(state.Platform, u), s.Translations, s.IotlbHits, s.IotlbMisses, s.PageWalks, s.PassThrough,
                s.ContextCacheMisses, s.PasidCacheMisses, s.Faults, s.FaultsRecorded, s.FaultsDropped,
                s.IotlbInvalidations, s.ContextCacheInvalidations, s.PasidCacheInvalidations, s.IotlbHitRate);
        }).ToArray());

    private static FaultLogDto Log(PlatformState state, RemappingUnit unit, IReadOnlyList<FaultRecord> records)
    {
        string name = Dto.UnitName(state.Platform, unit);
        FaultLog faults = DriverLog(state, unit);
        return new FaultLogDto(name, faults.PrimaryFaultOverflow, faults.Recorded, faults.Dropped,
            [.. records.Select(r => Dto.Fault(name, r))]);
    }

    /// <summary>An SMMUv3's events as its driver logged them (<c>arm_smmu_evtq_thread</c>'s lines), newest 256 lines.</summary>
    private static FaultLogDto Events(PlatformState state, Smmu smmu)
    {
        var driver = (ArmSmmuV3Driver)state.Platform.Core.GetDriver(smmu);
        return new FaultLogDto(Dto.UnitName(state.Platform, smmu), false, smmu.EventsRecorded, smmu.EventsLost, [], [.. driver.EventLog]);
    }

    /// <summary>The faults the unit's driver read from its fault recording registers (dmar_fault), as Linux logs them.</summary>
    private static FaultLog DriverLog(PlatformState state, RemappingUnit unit) => state.Platform.Core.GetDriver(unit).Faults;
}
