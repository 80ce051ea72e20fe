using Siov.Fast.Api.Durability;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Api.Infrastructure.Wire;
using Siov.Fast.Hardware;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Platforms;

namespace Siov.Fast.Api.Apis;

/// <summary><c>/sanitizer</c>: the invalidation sanitizer of every unit (off unless switched on here or with
/// <c>--Siov:Sanitize=true</c>): stale translations found, with the missing invalidation named.</summary>
internal static class SanitizerApi
{
    public static IEndpointRouteBuilder MapSanitizerApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/sanitizer", Get).WithName("GetSanitizer").WithTags("sanitizer")
            .WithSummary("Per unit: whether the invalidation sanitizer is on, comparisons made, stale translations found and the newest reports");
        app.MapPost("/sanitizer", Enable).WithName("EnableSanitizer").WithControlLock().WithJournal().WithTags("sanitizer")
            .WithSummary("Switch the invalidation sanitizer on for every unit (translations then also walk memory: a checking mode)");
        return app;
    }

    public static SanitizerDto[] Get(PlatformState state) => [.. state.Platform.Iommus.Select(u => Dto(state, u))];

    public static SanitizerDto[] Enable(PlatformState state)
    {
        EnableAll(state.Platform);
        return Get(state);
    }

    /// <summary>Switches the sanitizer on for every IOMMU of the platform, VT-d unit or SMMUv3.</summary>
    public static void EnableAll(ModelledPlatform platform)
    {
        foreach (RemappingUnit unit in platform.Units)
            unit.EnableSanitizer();
        foreach (Smmu smmu in platform.Smmus)
            smmu.EnableSanitizer();
    }

    private static SanitizerDto Dto(PlatformState state, IIommuHardware unit)
    {
        InvalidationSanitizer? s = unit switch { RemappingUnit vtd => vtd.Sanitizer, Smmu smmu => smmu.Sanitizer, _ => null };
        return new SanitizerDto(Infrastructure.Wire.Dto.UnitName(state.Platform, unit), s != null, s?.Comparisons ?? 0, s?.StaleTranslations ?? 0,
            [.. (s?.GetReports() ?? []).Select(r => new StaleReportDto(
                RequesterIds.Format(r.Request.RequesterId), r.Request.HasPasid ? r.Request.Pasid : null, Hex.Format(r.Request.Iova),
                r.Cache switch
                {
                    StaleCache.Iotlb => "iotlb",
                    StaleCache.PasidCache => "pasid-cache",
                    StaleCache.DeviceTlb => "device-tlb",
                    StaleCache.StreamTableEntryCache => "ste-cache",
                    StaleCache.ContextDescriptorCache => "cd-cache",
                    _ => "context-cache",
                },
                r.DomainId, r.MissingInvalidation,
                r.ChangedEntry is { } w ? new ChangedEntryDto(Hex.Format(w.Hpa), Hex.Format(w.OldValue), Hex.Format(w.NewValue), w.Sequence) : null,
                r.ToString()))]);
    }
}
