using Siov.Fast.Hardware.Vtd;

namespace Siov.Fast.Iommu;

/// <summary>A per-device IOMMU feature (<c>enum iommu_dev_features</c>, include/linux/iommu.h).</summary>
public enum IommuDevFeature
{
    /// <summary><c>IOMMU_DEV_FEAT_AUX</c>: the device can be attached to auxiliary domains, one per
    /// PASID, besides its primary domain (Lu Baolu's aux-domain series; seeds 000 and 003).</summary>
    Aux = 0,
}

/// <summary>
/// The vendor rules an IOMMU driver applies to auxiliary domains. The hardware model is the
/// same; only which attachments are allowed differs.
/// </summary>
public enum IommuVendor
{
    /// <summary>Intel VT-d (<c>intel-iommu</c>): one domain may be attached normally to one device
    /// and as an aux domain to another at the same time (seed 003).</summary>
    IntelVtd = 0,

    /// <summary>Arm SMMUv3 (<c>arm-smmu-v3</c>, seed 004): a domain is either aux or normal and that
    /// state is sticky, even after detach; an aux domain has a single parent domain, so two
    /// devices share an aux domain only when they are attached to the same primary domain.</summary>
    ArmSmmuV3 = 1,
}

/// <summary>The PCIe capabilities of a function that matter to the IOMMU.</summary>
public sealed record PciDeviceCapabilities
{
    /// <summary>Max PASID width in bits from the PASID capability (PCIe spec 7.8.8), 0 when the
    /// function has no PASID capability; 1 to 20 otherwise.</summary>
    public int PasidWidth { get; init; }

    /// <summary>Address Translation Services capability (PCIe spec 10).</summary>
    public bool Ats { get; init; }

    /// <summary>Page Request Interface capability.</summary>
    public bool Pri { get; init; }

    /// <summary>A function with none of the three (a plain endpoint).</summary>
    public static PciDeviceCapabilities None { get; } = new();

    /// <summary>A function with 20-bit PASIDs, ATS and PRI, as a Scalable IOV device has.</summary>
    public static PciDeviceCapabilities ScalableIov { get; } = new() { PasidWidth = 20, Ats = true, Pri = true };
}

/// <summary>
/// A device as the kernel's IOMMU core sees it (<c>struct device</c>): a PCI function behind a
/// remapping unit, or a mediated device. Every device is in at most one iommu group.
/// </summary>
public abstract class Device
{
    private protected Device()
    {
    }

    /// <summary>The device's name: the sysfs PCI address (<c>0000:00:02.0</c>) or the mdev UUID.</summary>
    public abstract string Name { get; }

    /// <summary>The iommu group the device is in, or null once removed.</summary>
    public IommuGroup? Group { get; internal set; }

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>A PCI function translated by a remapping unit: its DMA carries its requester id and, for
/// PASID-tagged requests, a PASID.</summary>
public sealed class PciDevice : Device
{
    // PASID -> what is attached there (aux domain or iommu_attach_device_pasid). Under the core's lock.
    internal readonly Dictionary<uint, IommuDomain> PasidDomains = [];

    private readonly Lock _coreLock;

    internal PciDevice(PciAddress address, RemappingUnit unit, PciDeviceCapabilities capabilities, Lock coreLock)
    {
        _coreLock = coreLock;
        Address = address;
        Unit = unit;
        Capabilities = capabilities;
    }

    /// <summary>segment:bus:device.function.</summary>
    public PciAddress Address { get; }

    /// <summary>The requester id (source id) of its DMA.</summary>
    public ushort RequesterId => Address.RequesterId;

    /// <summary>The remapping unit that translates the device's DMA.</summary>
    public RemappingUnit Unit { get; }

    /// <summary>PASID, ATS and PRI capabilities.</summary>
    public PciDeviceCapabilities Capabilities { get; }

    /// <summary>True while <see cref="IommuDevFeature.Aux"/> is enabled (<c>iommu_dev_feature_enabled</c>).</summary>
    public bool AuxEnabled { get; internal set; }

    /// <inheritdoc/>
    public override string Name => Address.ToString();

    /// <summary>
    /// Translates a DMA of this device through its unit: a convenience over
    /// <see cref="RemappingUnit.Translate(ushort, uint?, ulong, DmaAccess)"/> (hot callers keep a
    /// <see cref="TranslationPort"/> of the unit per thread, from <see cref="RemappingUnit.OpenPort"/>).
    /// </summary>
    /// <param name="pasid">PASID, or null for an untagged request (RID_PASID).</param>
    /// <param name="iova">Input address.</param>
    /// <param name="access">Read, Write or both.</param>
    /// <returns>The HPA or the fault; never throws.</returns>
    public TranslationResult Translate(uint? pasid, ulong iova, DmaAccess access) => Unit.Translate(RequesterId, pasid, iova, access);

    /// <summary>The PASIDs attached on this device and their domains (aux domains and
    /// <c>iommu_attach_device_pasid</c> attachments), a snapshot.</summary>
    /// <returns>PASID to domain.</returns>
    public IReadOnlyDictionary<uint, IommuDomain> GetPasidDomains()
    {
        lock (_coreLock)
            return new Dictionary<uint, IommuDomain>(PasidDomains);
    }
}

/// <summary>
/// A mediated device (<c>struct mdev_device</c>): a slice of a parent device (a work queue, a
/// virtual function of a GPU) created from one of the parent's mdev types, in an iommu group
/// of its own.
/// </summary>
/// <remarks>With an <see cref="IommuDevice"/> (set by the parent at create, the seed's
/// <c>mdev_set_iommu_device</c>) the mdev is isolated by the IOMMU: its DMA is tagged by the
/// parent with the PASID of the aux domain attached for it. Without one, isolation is the
/// parent driver's business (vendor-defined): the IOMMU does not protect it.</remarks>
public sealed class MediatedDevice : Device
{
    internal MediatedDevice(Guid uuid, MdevType type, PciDevice? iommuDevice)
    {
        Uuid = uuid;
        Type = type;
        IommuDevice = iommuDevice;
    }

    /// <summary>The mdev's UUID (its sysfs name under <c>/sys/bus/mdev/devices</c>).</summary>
    public Guid Uuid { get; }

    /// <summary>The type it was created from.</summary>
    public MdevType Type { get; }

    /// <summary>The parent device.</summary>
    public PciDevice Parent => Type.Parent;

    /// <summary>The device that represents the mdev in the IOMMU's device scope (<c>mdev_get_iommu_device</c>),
    /// or null when isolation is vendor-defined.</summary>
    public PciDevice? IommuDevice { get; }

    /// <summary>"iommu" when the IOMMU isolates the mdev (through a PASID of <see cref="IommuDevice"/>),
    /// "vendor-defined (no IOMMU protection)" otherwise.</summary>
    public string Isolation => IommuDevice != null ? "iommu" : "vendor-defined (no IOMMU protection)";

    /// <inheritdoc/>
    public override string Name => Uuid.ToString();
}
