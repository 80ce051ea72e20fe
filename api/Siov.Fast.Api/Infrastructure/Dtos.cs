using System.Text.Json;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.PageTables;
using Siov.Fast.Platforms;
using Siov.Fast.Vfio;

namespace Siov.Fast.Api.Infrastructure;

// Wire shapes. Names are snake_case on the wire; addresses are "0x..." hex strings.

internal sealed record UnitDto(string Name, string RegisterBase, string Mode, string Vendor, string Profile, string Cap, string Ecap,
    int[] Levels, int Mgaw, int HostAddressWidth, int DomainIds, int PasidWidth, string[] PageSizes, int IotlbCapacity, int FaultLogCapacity);

internal sealed record PlatformDto(string Name, string Description, ulong MemoryBytes, int FreeFrames, UnitDto[] Units);

internal sealed record PasidDto(uint Pasid, int Domain, bool Aux);

internal sealed record DeviceDto(string Bdf, string RequesterId, string Unit, int? Group, int PasidWidth, bool Ats, bool Pri,
    bool AuxSupported, bool AuxEnabled, int? Domain, PasidDto[] Pasids, bool MdevParent, string[] ReservedRegions);

internal sealed record GroupDto(int Id, string[] Devices, string[] Sysfs, int? Domain, int? DefaultDomain, string? AuxParent, bool InContainer, string? Owner);

internal sealed record DomainIdDto(string Unit, int Did);

internal sealed record DomainDto(int Id, string Type, bool IsAux, string Mode, uint? Pasid, int? Levels, int? AddressWidth,
    string MappedBytes, int? TablePages, int? TablePageLimit, int[] Groups, string[] AuxDevices, DomainIdDto[] DomainIds, string? Owner);

internal sealed record CreateDomainRequest(string? Type);

internal sealed record MapRequest(string? Iova, string? Hpa, string? Size, string? Prot);

internal sealed record MapBatchRequest(MapRequest[]? Mappings);

internal sealed record MappingDto(string Iova, string Hpa, string Size, string Prot);

internal sealed record UnmapDto(string Iova, string Size, string Unmapped);

internal sealed record AttachRequest(string? Device, int? Group, bool? Aux, uint? Pasid);

internal sealed record AttachmentDto(string Kind, string? Device, int? Group, uint? Pasid);

internal sealed record MdevTypeDto(string Parent, string Id, string Name, string Description, string DeviceApi, int AvailableInstances,
    int MaxInstances, bool IommuBacked);

internal sealed record CreateMdevRequest(string? Parent, string? Type, string? Uuid);

internal sealed record MdevDto(string Uuid, string Parent, string Type, int? Group, string? IommuDevice, string Isolation, int? Domain);

internal sealed record ContainerDto(int Id, int[] Groups, int[] Domains, MappingDto[] Mappings, MappingDto[] Pinned);

internal sealed record ContainerGroupRequest(int? Group);

/// <summary>A container in a listing: its mappings counted, not listed (a listing stays small whatever the containers hold).</summary>
internal sealed record ContainerSummaryDto(int Id, int[] Groups, int[] Domains, int MappingCount, string MappedBytes);

internal sealed record FaultDto(string Unit, string SourceId, uint? Pasid, string Address, string ReasonCode, string Reason, bool Write, string Linux);

internal sealed record FaultLogDto(string Unit, bool PrimaryFaultOverflow, long Recorded, long Dropped, FaultDto[] Faults);

internal sealed record StatsDto(string Unit, long Translations, long IotlbHits, long IotlbMisses, long Walks, long PassThrough,
    long ContextCacheMisses, long PasidCacheMisses, long Faults, long FaultsRecorded, long FaultsDropped,
    long IotlbInvalidations, long ContextInvalidations, long PasidInvalidations, double IotlbHitRate);

internal sealed record TranslateRequest(string? Device, uint? Pasid, string? Iova, string? Access);

internal sealed record TranslateBatchRequest(TranslateRequest[]? Requests);

internal sealed record FaultInfoDto(string Code, string Reason);

internal sealed record TranslateResultDto(bool Ok, string? Hpa, string? PageSize, string? Permissions, FaultInfoDto? Fault);

internal sealed record TranslateBatchResult(TranslateResultDto[] Results);

internal sealed record ChangedEntryDto(string Hpa, string Old, string New, long Write);

internal sealed record StaleReportDto(string Device, uint? Pasid, string Iova, string Cache, int Did, string MissingInvalidation,
    ChangedEntryDto? ChangedEntry, string Text);

internal sealed record SanitizerDto(string Unit, bool Enabled, long Comparisons, long StaleTranslations, StaleReportDto[] Reports);

/// <summary>Builds wire shapes from engine objects.</summary>
internal static class Dto
{
    private static readonly int[] LevelChoices = [3, 4, 5];
    private static readonly (PageSizes Size, string Name)[] SizeNames = [(PageSizes.Size4K, "4K"), (PageSizes.Size2M, "2M"), (PageSizes.Size1G, "1G")];

    public static string UnitName(ModelledPlatform platform, RemappingUnit unit)
    {
        int index = 0;
        foreach (RemappingUnit u in platform.Units)
        {
            if (u == unit)
                return "dmar" + index;
            index++;
        }
        return "unit@" + Hex.Format(unit.Options.RegisterBase);
    }

    public static UnitDto Unit(ModelledPlatform platform, RemappingUnit u) => new(
        UnitName(platform, u), Hex.Format(u.Options.RegisterBase), u.IsScalableMode ? "scalable" : "legacy",
        platform.Core.GetVendor(u) == IommuVendor.IntelVtd ? "intel-vtd" : "arm-smmuv3", platform.ProfileOf(u),
        Hex.Format(u.Capability.Encode()), Hex.Format(u.ExtendedCapability.Encode()),
        [.. LevelChoices.Where(u.Capability.SupportsLevels)], u.Capability.MaximumGuestAddressWidth, u.Options.HostAddressWidth,
        u.NumberOfDomains, u.PasidWidth,
        [.. SizeNames.Where(p => (u.PageSizes & p.Size) != 0 || p.Size == PageSizes.Size4K).Select(p => p.Name)],
        u.Iotlb.Capacity, u.Faults.Capacity);

    public static DeviceDto Device(ModelledPlatform platform, PciDevice d)
    {
        IommuCore core = platform.Core;
        return new DeviceDto(d.Name, "0x" + d.RequesterId.ToString("x4", System.Globalization.CultureInfo.InvariantCulture),
            UnitName(platform, d.Unit), d.Group?.Id, d.Capabilities.PasidWidth, d.Capabilities.Ats, d.Capabilities.Pri,
            core.DevHasFeature(d, IommuDevFeature.Aux), core.DevFeatureEnabled(d, IommuDevFeature.Aux),
            core.GetDomainForDevice(d)?.Id,
            [.. d.GetPasidDomains().OrderBy(p => p.Key).Select(p => new PasidDto(p.Key, p.Value.Id, p.Value.AuxAttachedDevices.Contains(d)))],
            core.MdevParents.Contains(d),
            [.. (platform.ReservedRegions.GetValueOrDefault(d.Address) ?? []).Select(r => r.ToString())]);
    }

    public static GroupDto Group(IommuGroup g)
    {
        IReadOnlyList<Device> devices = g.Devices;
        object? owner = g.Owner;
        return new GroupDto(g.Id, [.. devices.Select(d => d.Name)], [.. g.SysfsPaths()],
            g.Domain?.Id, g.DefaultDomain?.Id, g.AuxParent?.Name, owner != null, owner?.ToString());
    }

    public static DomainDto Domain(ModelledPlatform platform, IommuDomain d)
    {
        // Each DID is read once, from one snapshot: a concurrent detach cannot make it vanish between two reads.
        var dids = d.GetDomainIds().ToDictionary(b => b.Key, b => b.Value);
        return new DomainDto(d.Id, d.Type.ToString().ToUpperInvariant(), d.IsAux, d.Mode.ToString(), d.Pasid,
            d.PageTable?.Levels, d.PageTable?.AddressWidth, Hex.Format(d.PageTable?.MappedBytes ?? 0),
            d.PageTable?.TablePages, d.PageTable is { TablePageLimit: < int.MaxValue } t ? t.TablePageLimit : null,
            [.. d.AttachedGroups.Select(g => g.Id)], [.. d.AuxAttachedDevices.Select(x => x.Name)],
            [.. platform.Units.Where(dids.ContainsKey).Select(u => new DomainIdDto(UnitName(platform, u), dids[u]))], d.Owner?.ToString());
    }

    public static MappingDto Mapping(ulong iova, ulong hpa, ulong size, DmaProtection prot) =>
        new(Hex.Format(iova), Hex.Format(hpa), Hex.Format(size), Hex.Protection(prot));

    public static MdevTypeDto MdevType(MdevType t) => new(t.Parent.Name, t.Id, t.Spec.Name, t.Spec.Description, t.Spec.DeviceApi,
        t.AvailableInstances, t.Spec.MaxInstances, t.Spec.IommuBacked);

    public static MdevDto Mdev(IommuCore core, MediatedDevice m) => new(m.Uuid.ToString(), m.Parent.Name, m.Type.Id, m.Group?.Id,
        m.IommuDevice?.Name, m.Isolation, core.GetDomainForDevice(m)?.Id);

    public static ContainerSummaryDto ContainerSummary(int id, VfioContainer c)
    {
        VfioContainerSnapshot s = c.GetSnapshot();
        ulong bytes = 0;
        foreach (VfioDmaMapping m in s.Mappings)
            bytes += m.Size;
        return new ContainerSummaryDto(id, [.. s.Groups.Select(g => g.Id)], [.. s.Domains.Select(d => d.Id)], s.Mappings.Count, Hex.Format(bytes));
    }

    public static ContainerDto Container(int id, VfioContainer c)
    {
        VfioContainerSnapshot s = c.GetSnapshot();
        MappingDto[] mappings = [.. s.Mappings.Select(m => Mapping(m.Iova, m.Hpa, m.Size, m.Protection))];
        return new ContainerDto(id, [.. s.Groups.Select(g => g.Id)], [.. s.Domains.Select(d => d.Id)], mappings,
            s.Pinned.Count == 0 ? [] : mappings);
    }

    public static FaultDto Fault(string unit, FaultRecord r) => new(unit, RequesterIds.Format(r.SourceId), r.HasPasid ? r.Pasid : null,
        Hex.Format(r.Address), "0x" + ((byte)r.Reason).ToString("x2", System.Globalization.CultureInfo.InvariantCulture),
        FaultReasons.Describe(r.Reason), r.IsWrite, r.ToLinuxString());

    public static TranslateResultDto Result(TranslationResult r) => r.IsSuccess
        ? new TranslateResultDto(true, Hex.Format(r.Hpa), Hex.Format(r.PageSize), Hex.Protection(r.Permissions), null)
        : new TranslateResultDto(false, null, null, null,
            new FaultInfoDto("0x" + ((byte)r.Fault).ToString("x2", System.Globalization.CultureInfo.InvariantCulture), FaultReasons.Describe(r.Fault)));
}

internal sealed record IommufdContextDto(int Id, IommufdObjectDto[] Objects);

internal sealed record PasidAttachmentDto(uint Pasid, uint Hwpt);

internal sealed record IovaRangeDto(string? Start, string? Last);

internal sealed record IoasMapRequest(string? Iova, string? Hpa, string? Length, string? Prot);

internal sealed record IoasMapResult(string Iova);

internal sealed record IoasUnmapRequest(string? Iova, string? Length);

internal sealed record IoasUnmapResult(string Unmapped);

internal sealed record IoasCopyRequest(uint? SrcIoas, string? SrcIova, string? Length, string? Iova, string? Prot);

internal sealed record IommufdBindRequest(string? Device);

internal sealed record IommufdAttachRequest(uint? PtId);

internal sealed record HwInfoDto(string Type, uint DataType, uint Flags, string CapReg, string EcapReg, bool DirtyTracking);

internal sealed record VtdS1Dto(string[]? Flags, string? PgtblAddr, int? AddrWidth);

internal sealed record HwptAllocRequest(uint? DevId, uint? PtId, string[]? Flags, VtdS1Dto? VtdS1);

internal sealed record DirtyTrackingRequest(bool? Enabled);

internal sealed record DirtyBitmapRequest(string? Iova, string? Length, string? PageSize, bool? NoClear);

internal sealed record DirtyBitmapDto(string[] Bitmap, string[] DirtyPages);

internal sealed record HwptInvalidateRequest(string? Addr, string? Npages, bool? Leaf);

/// <summary>A definition: mdevctl's fields, and whether the mdev is running.</summary>
internal sealed record MdevDefinitionDto(string Uuid, string Parent, string MdevType, string Start, Dictionary<string, string>[] Attrs, bool Active);

/// <summary><c>POST /mdev/definitions</c>.</summary>
internal sealed record DefineMdevRequest(string? Uuid, string? Parent, string? MdevType, string? Start, JsonElement? Attrs);

/// <summary><c>PATCH /mdev/definitions/{uuid}</c>: the fields to change.</summary>
internal sealed record ModifyMdevRequest(string? Parent, string? MdevType, string? Start, JsonElement? Attrs);

/// <summary>What an import defined.</summary>
internal sealed record ImportResultDto(int Defined, string[] Uuids);

internal sealed record MapBatchResult(int Mapped);

internal sealed record IommufdObjectDto(uint Id, string Type, int Users, int? AreaCount = null, MappingDto[]? Areas = null, IovaRangeDto[]? IovaRanges = null,
    string? Device = null, uint? AttachedTo = null, uint? Ioas = null, int? Domain = null, bool? Auto = null, string[]? Flags = null,
    bool? DirtyTracking = null, uint? Parent = null, VtdS1Dto? VtdS1 = null, PasidAttachmentDto[]? Pasids = null);
