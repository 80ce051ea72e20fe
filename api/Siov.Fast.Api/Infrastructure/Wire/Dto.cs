using Siov.Fast.Hardware;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.PageTables;
using Siov.Fast.Platforms;
using Siov.Fast.Vfio;

namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary>Builds wire shapes from engine objects.</summary>
internal static class Dto
{
    private static readonly int[] LevelChoices = [3, 4, 5];
    private static readonly (PageSizes Size, string Name)[] SizeNames = [(PageSizes.Size4K, "4K"), (PageSizes.Size2M, "2M"), (PageSizes.Size1G, "1G")];

    public static string UnitName(ModelledPlatform platform, IIommuHardware unit)
    {
        int index = 0;
        foreach (RemappingUnit u in platform.Units)
        {
            if (u == unit)
                return "dmar" + index;
            index++;
        }
        return platform.Iommus.Contains(unit) ? platform.Core.GetDriver(unit).UnitName : "unit@" + Hex.Format(unit.RegisterBase);
    }

    public static UnitDto Unit(ModelledPlatform platform, IIommuHardware unit) => unit switch
    {
        RemappingUnit vtd => Unit(platform, vtd),
        Smmu smmu => Unit(platform, smmu),
        _ => throw new InvalidOperationException($"no wire shape for {unit.GetType().Name}"),
    };

    /// <summary>An SMMUv3 as <see cref="UnitDto"/>: its ID registers, and what its driver offers domains.</summary>
    private static UnitDto Unit(ModelledPlatform platform, Smmu s)
    {
        IIommuDriver driver = platform.Core.GetDriver(s);
        return new UnitDto(UnitName(platform, s), Hex.Format(s.RegisterBase), "stage1", "arm-smmuv3",
            "preset: SmmuOptions.Default (stage 1 and 2, 16-bit StreamIDs, 20-bit SubstreamIDs, ATS, range invalidation, 2-level tables)", null, null,
            [.. LevelChoices.Where(driver.SupportsLevels)], 48, driver.HostAddressWidth, driver.NumberOfDomains, driver.PasidWidth,
            [.. SizeNames.Where(p => (driver.PageSizes & p.Size) != 0).Select(p => p.Name)], s.Tlb.Capacity, 256,
            [.. new[] { SmmuRegisters.Idr0, SmmuRegisters.Idr1, SmmuRegisters.Idr2, SmmuRegisters.Idr3, SmmuRegisters.Idr4, SmmuRegisters.Idr5 }
                .Select(offset => Hex.Format(s.Read(offset, 4)))]);
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
            [.. platform.Iommus.Where(dids.ContainsKey).Select(u => new DomainIdDto(UnitName(platform, u), dids[u]))], d.Owner?.ToString());
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

    public static TranslateResultDto Result(TranslationResult r, IIommuHardware unit) => r.IsSuccess
        ? new TranslateResultDto(true, Hex.Format(r.Hpa), Hex.Format(r.PageSize), Hex.Protection(r.Permissions), null)
        : new TranslateResultDto(false, null, null, null,
            new FaultInfoDto("0x" + ((byte)r.Fault).ToString("x2", System.Globalization.CultureInfo.InvariantCulture), Describe(r, unit)));

    /// <summary>A fault's text: the VT-d fault reason as Linux prints it, or the SMMUv3 event's name.</summary>
    public static string Describe(TranslationResult r, IIommuHardware unit) =>
        unit is Smmu ? SmmuEventTypes.Describe(Smmu.EventOf(r)) : FaultReasons.Describe(r.Fault);
}
