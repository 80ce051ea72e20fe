using Siov.Fast.Hardware;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.Memory;

namespace Siov.Fast.Platforms;

/// <summary>
/// A live modelled machine: simulated memory, its IOMMUs (VT-d remapping units or Arm SMMUv3s), and the IOMMU core with
/// the machine's devices and groups. <see cref="CreateDefault"/> builds the embedded default platform,
/// <see cref="CreateArmDemo"/> the Arm one.
/// </summary>
public sealed class ModelledPlatform : IDisposable
{
    private readonly IIommuHardware?[] _unitByRequesterId = new IIommuHardware?[65536];
    private readonly ushort[] _sourceIdByRequesterId = CreateIdentityMap(); // segment 0: requester id -> id at its IOMMU
    private readonly List<RemappingUnit> _units = [];
    private readonly List<Smmu> _smmus = [];
    private readonly List<IIommuHardware> _iommus = [];

    /// <summary>Creates an empty platform with <paramref name="memoryBytes"/> of simulated memory for tables.</summary>
    /// <param name="name">Short name, shown by the admin server's <c>/platform</c>.</param>
    /// <param name="description">One sentence on what the platform is.</param>
    /// <param name="memoryBytes">Bytes of simulated memory for page tables, a multiple of 4 KiB.</param>
    /// <param name="options">IOMMU core settings.</param>
    /// <exception cref="IommuException">As <see cref="PhysicalMemory"/>'s constructor (EINVAL, ENOMEM).</exception>
    public ModelledPlatform(string name, string description, ulong memoryBytes = 256UL << 20, IommuCoreOptions? options = null)
    {
        Name = name;
        Description = description;
        Memory = new PhysicalMemory(memoryBytes);
        Core = new IommuCore(Memory, options);
    }

    /// <summary>Short name.</summary>
    public string Name { get; }

    /// <summary>What the platform is.</summary>
    public string Description { get; }

    /// <summary>Simulated memory holding every table.</summary>
    public PhysicalMemory Memory { get; }

    /// <summary>The IOMMU core: devices, groups, domains.</summary>
    public IommuCore Core { get; }

    /// <summary>The tables, topology and boot log the platform was built from; null for the embedded default.</summary>
    public PlatformDescription? Source { get; private set; }

    /// <summary>Where a unit's CAP/ECAP images come from: the boot-log line, the documented default profile
    /// (<see cref="PlatformUnit.DefaultProfileName"/>), or the embedded default's preset.</summary>
    /// <param name="unit">A unit of this platform.</param>
    /// <returns>The profile name.</returns>
    public string ProfileOf(RemappingUnit unit)
    {
        ArgumentNullException.ThrowIfNull(unit);
        return Source?.Units.FirstOrDefault(u => u.RegisterBase == unit.Options.RegisterBase)?.ProfileName
            ?? "preset: UnitPresets.ScalableCapability / ScalableExtendedCapability (Sapphire Rapids shaped)";
    }

    /// <summary>The VT-d remapping units in the order added (empty on an Arm platform).</summary>
    public IReadOnlyList<RemappingUnit> Units => _units;

    /// <summary>The Arm SMMUv3s in the order added (empty on a VT-d platform).</summary>
    public IReadOnlyList<Smmu> Smmus => _smmus;

    /// <summary>Every IOMMU, whatever its vendor, in the order added.</summary>
    public IReadOnlyList<IIommuHardware> Iommus => _iommus;

    /// <summary>The unit that takes requests of segment 0 from requester ids no device claims (the
    /// INCLUDE_PCI_ALL unit of a DMAR table); the last unit added with <c>catchAll</c>.</summary>
    public RemappingUnit? CatchAllUnit { get; private set; }

    /// <summary>Creates a unit over the platform's memory and registers it with the core.</summary>
    /// <param name="capability">CAP_REG.</param>
    /// <param name="extendedCapability">ECAP_REG.</param>
    /// <param name="options">Unit settings (register base, HAW, ...).</param>
    /// <param name="catchAll">True for the unit that takes every device no other unit claims.</param>
    /// <returns>The unit.</returns>
    /// <exception cref="IommuException">As <see cref="RemappingUnit"/>'s constructor.</exception>
    /// <param name="segment">The PCI segment the unit serves.</param>
    public RemappingUnit AddUnit(CapabilityRegister capability, ExtendedCapabilityRegister extendedCapability,
        RemappingUnitOptions options, bool catchAll = false, ushort segment = 0)
    {
        var unit = new RemappingUnit(Memory, capability, extendedCapability, options);
        try
        {
            Core.AddUnit(unit, segment);
        }
        catch
        {
            unit.Dispose();
            throw;
        }
        _units.Add(unit);
        _iommus.Add(unit);
        if (catchAll)
            CatchAllUnit = unit;
        return unit;
    }

    /// <summary>Creates an SMMUv3 over the platform's memory and registers it with the core, where the arm-smmu-v3 driver
    /// takes charge of it.</summary>
    /// <param name="options">Its ID registers, register base and TLB size.</param>
    /// <param name="segment">The PCI segment it serves.</param>
    /// <returns>The SMMU.</returns>
    /// <exception cref="IommuException">As <see cref="Smmu"/>'s constructor and <see cref="IommuCore.AddUnit"/> (EINVAL when the
    /// platform has VT-d units: one core's IOMMUs walk one page-table format).</exception>
    public Smmu AddSmmu(SmmuOptions options, ushort segment = 0)
    {
        var smmu = new Smmu(Memory, options);
        try
        {
            Core.AddUnit(smmu, segment);
        }
        catch
        {
            smmu.Dispose();
            throw;
        }
        _smmus.Add(smmu);
        _iommus.Add(smmu);
        return smmu;
    }

    /// <summary>Adds a PCI device behind a unit (see <see cref="IommuCore.AddPciDevice"/>) and routes its requester id there.</summary>
    /// <param name="address">Segment 0 address.</param>
    /// <param name="unit">Its unit.</param>
    /// <param name="capabilities">PASID, ATS, PRI.</param>
    /// <param name="group">A group to share, or null for one of its own.</param>
    /// <returns>The device.</returns>
    /// <exception cref="IommuException">As <see cref="IommuCore.AddPciDevice"/>.</exception>
    public PciDevice AddDevice(PciAddress address, IIommuHardware unit, PciDeviceCapabilities? capabilities = null, IommuGroup? group = null) =>
        AddDevice(address, unit, address.RequesterId, capabilities, group);

    /// <summary>Adds a PCI device whose DMA reaches its IOMMU with <paramref name="sourceId"/> (the StreamID an IORT
    /// root complex node's ID mapping gives its requester id) and routes its requester id there.</summary>
    /// <param name="address">The address.</param>
    /// <param name="unit">Its IOMMU.</param>
    /// <param name="sourceId">The id its DMA carries at the IOMMU.</param>
    /// <param name="capabilities">PASID, ATS, PRI.</param>
    /// <param name="group">A group to share, or null for one of its own.</param>
    /// <returns>The device.</returns>
    /// <exception cref="IommuException">As <see cref="IommuCore.AddPciDevice"/>.</exception>
    public PciDevice AddDevice(PciAddress address, IIommuHardware unit, ushort sourceId, PciDeviceCapabilities? capabilities, IommuGroup? group)
    {
        PciDevice device = Core.AddPciDevice(address, unit, capabilities, group, sourceId);
        if (address.Segment == 0)
        {
            _unitByRequesterId[address.RequesterId] = unit;
            _sourceIdByRequesterId[address.RequesterId] = sourceId;
        }
        return device;
    }

    /// <summary>The id a segment-0 requester id's DMA carries at <see cref="UnitFor"/>: the StreamID its device was added
    /// with, else the requester id itself.</summary>
    /// <param name="requesterId">Requester id.</param>
    /// <returns>The source id.</returns>
    public ushort SourceIdFor(ushort requesterId) => _sourceIdByRequesterId[requesterId];

    /// <summary>Translates a DMA of a segment-0 requester id as the platform routes it: to <see cref="UnitFor"/>, with the
    /// requester id replaced by <see cref="SourceIdFor"/>.</summary>
    /// <param name="request">The request, tagged with the requester id.</param>
    /// <returns>The translation or the fault (vendor codes).</returns>
    public TranslationResult Translate(in DmaRequest request) =>
        UnitFor(request.RequesterId).Translate(Routed(request));

    /// <summary>The request as its IOMMU sees it: tagged with the source id instead of the requester id.</summary>
    /// <param name="request">The request, tagged with the requester id.</param>
    /// <returns>The same request with <see cref="SourceIdFor"/> as its requester id.</returns>
    public DmaRequest Routed(in DmaRequest request)
    {
        ushort source = _sourceIdByRequesterId[request.RequesterId];
        return source == request.RequesterId ? request : request.WithRequesterId(source);
    }

    private static ushort[] CreateIdentityMap()
    {
        var map = new ushort[65536];
        for (int i = 0; i < map.Length; i++)
            map[i] = (ushort)i;
        return map;
    }

    /// <summary>The IOMMU that translates requests of a segment-0 requester id: the device's, else the catch-all unit
    /// (which faults them: no context entry), else the first IOMMU. The platforms built here map requester ids to
    /// StreamIDs one to one, so a request goes to an SMMU as it is.</summary>
    /// <param name="requesterId">Requester id.</param>
    /// <returns>The IOMMU.</returns>
    public IIommuHardware UnitFor(ushort requesterId) => _unitByRequesterId[requesterId] ?? CatchAllUnit ?? _iommus[0];

    /// <summary>
    /// The embedded default platform, "siov-demo": a 2023-class server with two scalable-mode VT-d units
    /// shaped after the Sapphire Rapids registers Linux prints (<see cref="UnitPresets.ScalableCapability"/>),
    /// HAW 46, and the devices that let a user walk seed 002 at once:
    /// <list type="bullet">
    /// <item>dmar0 at 0xFED90000 for the integrated graphics 00:02.0 (endpoint scope);</item>
    /// <item>dmar1 at 0xFED91000, INCLUDE_PCI_ALL, for everything else;</item>
    /// <item>01:00.0, an accelerator with 20-bit PASIDs, ATS and PRI (a DSA-like parent) offering mdev type
    /// <c>idxd-wq</c> (8 IOMMU-backed work queues);</item>
    /// <item>02:00.0, a NIC with ATS and no PASID (a VM's whole physical device);</item>
    /// <item>03:00.0 and 03:00.1, two functions without ACS, so one iommu group;</item>
    /// <item>04:00.0, a GPU offering mdev type <c>nvidia-63</c> with vendor-defined isolation (no iommu_device);</item>
    /// <item>00:14.0 (USB) and 00:1f.2 (SATA), plain endpoints.</item>
    /// </list>
    /// </summary>
    /// <param name="options">IOMMU core settings.</param>
    /// <returns>The platform.</returns>
    public static ModelledPlatform CreateDefault(IommuCoreOptions? options = null)
    {
        var platform = new ModelledPlatform(DefaultName,
            "embedded default: two scalable-mode VT-d units (Sapphire Rapids registers), a PASID-capable accelerator with mdev work queues, a NIC, a two-function group, a vGPU parent",
            options: options);
        RemappingUnit gfx = platform.AddUnit(UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability,
            new RemappingUnitOptions { RegisterBase = 0xFED9_0000 });
        RemappingUnit main = platform.AddUnit(UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability,
            new RemappingUnitOptions { RegisterBase = 0xFED9_1000 }, catchAll: true);

        platform.AddDevice(PciAddress.Parse("00:02.0"), gfx, new PciDeviceCapabilities { PasidWidth = 20 });
        platform.AddDevice(PciAddress.Parse("00:14.0"), main);
        platform.AddDevice(PciAddress.Parse("00:1f.2"), main);
        PciDevice accelerator = platform.AddDevice(PciAddress.Parse("01:00.0"), main, PciDeviceCapabilities.ScalableIov);
        platform.AddDevice(PciAddress.Parse("02:00.0"), main, new PciDeviceCapabilities { Ats = true });
        PciDevice fn0 = platform.AddDevice(PciAddress.Parse("03:00.0"), main);
        platform.AddDevice(PciAddress.Parse("03:00.1"), main, group: fn0.Group);
        PciDevice gpu = platform.AddDevice(PciAddress.Parse("04:00.0"), main);

        platform.Core.MdevRegisterParent(accelerator,
            [new MdevTypeSpec("idxd-wq", "dedicated work queue", "a DSA work queue assigned whole, DMA tagged with a PASID", "vfio-pci", 8, IommuBacked: true)]);
        platform.Core.MdevRegisterParent(gpu,
            [new MdevTypeSpec("nvidia-63", "GRID P40-1Q", "a vGPU isolated by the GPU's own MMU (vendor-defined)", "vfio-pci", 4, IommuBacked: false)]);
        return platform;
    }

    /// <summary>The name of <see cref="CreateArmDemo"/>'s platform (the server's <c>--platform arm-demo</c>).</summary>
    public const string ArmDemoName = "arm-demo";

    /// <summary>The name of <see cref="CreateDefault"/>'s platform.</summary>
    public const string DefaultName = "siov-demo";

    /// <summary>
    /// The Arm platform, "arm-demo": one SMMUv3 at 0x09050000 (where QEMU's <c>virt</c> machine has it) with the default
    /// ID registers (stage 1 and 2, 16-bit StreamIDs, 20-bit SubstreamIDs, ATS, range invalidation, 2-level tables), its root complex
    /// mapping requester ids to StreamIDs one to one (an IORT ID mapping of RIDs 0-0xffff to StreamIDs 0-0xffff), and the
    /// devices of <see cref="CreateDefault"/> at the same addresses, so seed 002 runs over the same calls:
    /// <list type="bullet">
    /// <item>01:00.0, an accelerator with 20-bit PASIDs (SubstreamIDs), ATS and PRI, offering mdev type <c>idxd-wq</c>
    /// (8 IOMMU-backed work queues, each an aux domain at an SSID of the parent device's CD table);</item>
    /// <item>02:00.0, a NIC with ATS;</item>
    /// <item>03:00.0 and 03:00.1, two functions in one group; 00:14.0 (USB), plain.</item>
    /// </list>
    /// The arm-smmu-v3 driver's seed 004 rules apply: a domain is aux or normal for its life, and an aux domain has one
    /// parent, so a VFIO container that holds the NIC and a work queue uses two domains.
    /// </summary>
    /// <param name="options">IOMMU core settings.</param>
    /// <returns>The platform.</returns>
    public static ModelledPlatform CreateArmDemo(IommuCoreOptions? options = null)
    {
        var platform = new ModelledPlatform(ArmDemoName,
            "embedded Arm platform: one SMMUv3 (QEMU virt's base, 16-bit StreamIDs, 20-bit SSIDs), a PASID-capable accelerator with mdev work queues, a NIC, a two-function group",
            options: options);
        try
        {
            Smmu smmu = platform.AddSmmu(new SmmuOptions { RegisterBase = 0x0905_0000 });
            platform.AddDevice(PciAddress.Parse("00:14.0"), smmu);
            PciDevice accelerator = platform.AddDevice(PciAddress.Parse("01:00.0"), smmu, PciDeviceCapabilities.ScalableIov);
            platform.AddDevice(PciAddress.Parse("02:00.0"), smmu, new PciDeviceCapabilities { Ats = true });
            PciDevice fn0 = platform.AddDevice(PciAddress.Parse("03:00.0"), smmu);
            platform.AddDevice(PciAddress.Parse("03:00.1"), smmu, group: fn0.Group);
            platform.Core.MdevRegisterParent(accelerator,
                [new MdevTypeSpec("idxd-wq", "dedicated work queue", "a DSA work queue assigned whole, DMA tagged with a SubstreamID", "vfio-pci", 8, IommuBacked: true)]);
            return platform;
        }
        catch
        {
            platform.Dispose();
            throw;
        }
    }

    /// <summary>An embedded platform by name: <see cref="DefaultName"/> or <see cref="ArmDemoName"/>.</summary>
    /// <param name="name">The name.</param>
    /// <param name="options">IOMMU core settings.</param>
    /// <returns>The platform.</returns>
    /// <exception cref="IommuException">ENOENT for another name.</exception>
    public static ModelledPlatform CreateEmbedded(string name, IommuCoreOptions? options = null) => name switch
    {
        DefaultName => CreateDefault(options),
        ArmDemoName => CreateArmDemo(options),
        _ => throw new IommuException(Errno.ENOENT, $"no embedded platform is named '{name}' (there are {DefaultName} and {ArmDemoName})"),
    };

    /// <summary>The RMRR ranges each device needs identity-mapped (from a real platform's DMAR); empty for others.</summary>
    public IReadOnlyDictionary<PciAddress, IReadOnlyList<ReservedRegion>> ReservedRegions => _reserved;

    private readonly Dictionary<PciAddress, IReadOnlyList<ReservedRegion>> _reserved = [];

    /// <summary>
    /// Builds the live machine a <see cref="PlatformDescription"/> describes: one VT-d unit per DRHD with the
    /// register images of its profile (boot-log <c>cap</c>/<c>ecap</c>, or the documented default), every
    /// device that a unit translates (PASID width, ATS where the platform allows it, PRI from lspci), the
    /// iommu groups as computed, and each device's RMRR ranges identity-mapped (read/write) in its default
    /// domain, as the kernel's <c>iommu_create_device_direct_mappings</c> does.
    /// </summary>
    /// <param name="description">The platform.</param>
    /// <param name="options">IOMMU core settings.</param>
    /// <returns>The platform.</returns>
    /// <exception cref="IommuException">ENODEV for a platform without DMAR units (AMD-Vi units are parsed but not
    /// modelled); what a unit's registers or a device raise (EINVAL, ENOSPC, ENOMEM).</exception>
    public static ModelledPlatform FromDescription(PlatformDescription description, IommuCoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(description);
        if (description.Units.IsEmpty)
            Throw.Iommu(Errno.ENODEV, "the platform has no DMAR remapping units (AMD-Vi IVHD units are parsed, not modelled)");
        string name = description.Dmar?.Header.OemTableId.Trim() is { Length: > 0 } oem ? oem : "dmar-platform";
        var platform = new ModelledPlatform(name,
            $"from ACPI tables: {description.Units.Length} DRHD unit(s), {description.Devices.Length} device(s), {description.Groups.Length} iommu group(s)",
            options: options);
        platform.Source = description;
        try
        {
            var units = new Dictionary<ulong, RemappingUnit>();
            foreach (PlatformUnit u in description.Units)
            {
                units[u.RegisterBase] = platform.AddUnit(u.DecodedCapability, u.DecodedExtendedCapability,
                    new RemappingUnitOptions { RegisterBase = u.RegisterBase, HostAddressWidth = Math.Clamp(u.HostAddressWidth, 32, 52) },
                    catchAll: u.IncludePciAll && u.Segment == 0, segment: u.Segment);
            }
            var groups = new Dictionary<int, IommuGroup>();
            foreach (PlatformDevice d in description.Devices)
            {
                if (d.UnitRegisterBase is not ulong unitBase || !units.TryGetValue(unitBase, out RemappingUnit? unit))
                    continue; // no remapping unit translates it
                var caps = new PciDeviceCapabilities
                {
                    PasidWidth = d.Function?.MaxPasidWidth ?? 0,
                    // A unit in legacy mode enables ATS by itself for an ATC_REQUIRED SATC device: the OS leaves it off.
                    Ats = (d.Function?.Ats ?? false) && d.AtsAllowed && !(d.AtcRequired && !unit.IsScalableMode),
                    Pri = d.Function?.Pri ?? false,
                };
                PciDevice device = platform.AddDevice(d.Address, unit, caps, groups.GetValueOrDefault(d.GroupId));
                groups.TryAdd(d.GroupId, device.Group!);
                if (d.ReservedRegions.IsEmpty)
                    continue;
                platform._reserved[d.Address] = d.ReservedRegions;
                IommuDomain? domain = device.Group!.DefaultDomain;
                foreach (ReservedRegion r in d.ReservedRegions)
                {
                    ulong start = r.Base & ~0xFFFUL, size = ((r.Limit | 0xFFF) + 1) - start;
                    if (domain is { IsPaging: true } && domain.IovaToPhys(start) == 0)
                        domain.Map(start, start, size, DmaProtection.ReadWrite); // a group member may have mapped it already
                }
            }
            return platform;
        }
        catch
        {
            platform.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Builds the live Arm machine an IORT describes (with the functions of an <c>lspci -vvnn</c> listing): one SMMUv3 per
    /// IORT SMMUv3 node (at its base address, serving the segment of the first root complex that maps to it), driven by
    /// arm-smmu-v3; every function whose requester id a root complex node maps to an SMMUv3 (<see cref="IortTable.MapRequesterId"/>,
    /// as Linux's <c>iort_iommu_configure_id</c>) behind that SMMU with the StreamID it maps to; PASID width, ATS (where the
    /// root complex's ATS attribute allows it) and PRI from lspci; iommu groups by Linux's rules
    /// (<see cref="IommuGrouping.Compute"/>). Without a listing the SMMUs have no devices.
    /// </summary>
    /// <param name="iort">The table.</param>
    /// <param name="topology">The functions, or null.</param>
    /// <param name="options">IOMMU core settings.</param>
    /// <returns>The platform.</returns>
    /// <exception cref="IommuException">ENODEV for an IORT without SMMUv3 nodes; EINVAL for a StreamID beyond the 16 bits
    /// the model takes, or what the devices raise (ENOSPC, ENOMEM).</exception>
    public static ModelledPlatform FromIort(IortTable iort, PciTopology? topology = null, IommuCoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(iort);
        if (iort.SmmuV3Nodes.IsEmpty)
            Throw.Iommu(Errno.ENODEV, "the IORT has no SMMUv3 node (SMMUv1/v2 nodes are parsed, not modelled)");
        string name = iort.Header.OemTableId.Trim() is { Length: > 0 } oem ? oem : "iort-platform";
        var platform = new ModelledPlatform(name,
            $"from ACPI IORT: {iort.SmmuV3Nodes.Length} SMMUv3 node(s), {iort.RootComplexes.Length} root complex(es)"
                + (topology == null ? ", no lspci listing (no devices)" : $", {topology.Functions.Length} lspci function(s)"),
            options: options);
        try
        {
            var smmus = new Dictionary<IortSmmuV3, Smmu>();
            foreach (IortSmmuV3 node in iort.SmmuV3Nodes)
            {
                ushort segment = (ushort)(iort.RootComplexes.FirstOrDefault(rc => rc.IdMappings.Any(m => m.OutputReference == node.Offset))?.PciSegmentNumber ?? 0);
                smmus[node] = platform.AddSmmu(new SmmuOptions { RegisterBase = node.BaseAddress }, segment);
            }
            if (topology == null)
                return platform;
            var placed = new List<(PciFunction Function, IortStreamMapping Stream, IortRootComplex RootComplex)>();
            foreach (PciFunction function in topology.Functions)
            {
                PciAddress a = function.Address;
                if (iort.MapRequesterId(a.Segment, a.RequesterId) is not IortStreamMapping stream)
                    continue; // no SMMU translates it (straight to the ITS, or no root complex)
                if (stream.StreamId > ushort.MaxValue)
                    Throw.Iommu(Errno.EINVAL, $"{a} maps to StreamID {Throw.Hex(stream.StreamId)}; the model takes 16-bit StreamIDs");
                placed.Add((function, stream, iort.RootComplexes.First(rc => rc.PciSegmentNumber == a.Segment)));
            }
            var groups = new Dictionary<int, IommuGroup>();
            foreach (GroupDescription g in IommuGrouping.Compute(placed.Select(p => p.Function.Address), topology))
            {
                foreach (PciAddress address in g.Devices)
                {
                    (PciFunction f, IortStreamMapping stream, IortRootComplex rc) = placed.First(p => p.Function.Address == address);
                    var caps = new PciDeviceCapabilities
                    {
                        PasidWidth = f.Pasid ? f.MaxPasidWidth : 0,
                        Ats = f.Ats && (rc.AtsAttribute & 1) != 0,
                        Pri = f.Pri,
                    };
                    PciDevice device = platform.AddDevice(address, smmus[stream.Smmu], (ushort)stream.StreamId, caps, groups.GetValueOrDefault(g.Id));
                    groups.TryAdd(g.Id, device.Group!);
                }
            }
            return platform;
        }
        catch
        {
            platform.Dispose();
            throw;
        }
    }

    /// <summary>Frees the core's tables, the IOMMUs' caches and the memory.</summary>
    public void Dispose()
    {
        Core.Dispose();
        foreach (RemappingUnit unit in _units)
            unit.Dispose();
        foreach (Smmu smmu in _smmus)
            smmu.Dispose();
        Memory.Dispose();
    }
}
