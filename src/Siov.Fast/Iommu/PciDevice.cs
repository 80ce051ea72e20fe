using Siov.Fast.Hardware;

namespace Siov.Fast.Iommu;

/// <summary>A PCI function translated by a remapping unit: its DMA carries its requester id and, for
/// PASID-tagged requests, a PASID.</summary>
public sealed class PciDevice : Device
{
    // PASID -> what is attached there (aux domain or iommu_attach_device_pasid). Under the core's lock.
    internal readonly Dictionary<uint, IommuDomain> PasidDomains = [];

    private readonly Lock _coreLock;

    internal PciDevice(PciAddress address, IIommuHardware unit, ushort sourceId, PciDeviceCapabilities capabilities, Lock coreLock)
    {
        _coreLock = coreLock;
        Address = address;
        Unit = unit;
        SourceId = sourceId;
        Capabilities = capabilities;
    }

    /// <summary>segment:bus:device.function.</summary>
    public PciAddress Address { get; }

    /// <summary>The requester id (source id) of its DMA.</summary>
    public ushort RequesterId => Address.RequesterId;

    /// <summary>The IOMMU that translates the device's DMA (a VT-d remapping unit, an SMMUv3).</summary>
    public IIommuHardware Unit { get; }

    /// <summary>The id its DMA carries at <see cref="Unit"/> (the kernel's <c>iommu_fwspec</c> id): the requester id behind
    /// VT-d, the StreamID the IORT's ID mapping gives it behind SMMUv3. Equal to <see cref="RequesterId"/> unless the
    /// platform maps it.</summary>
    public ushort SourceId { get; }

    /// <summary>PASID, ATS and PRI capabilities.</summary>
    public PciDeviceCapabilities Capabilities { get; }

    /// <summary>True when the driver enabled the function's ATS at probe (it has the capability, the platform allows it
    /// and the unit has device-TLBs): its context entry allows translation requests and translated requests, and IOTLB
    /// invalidations for its domains are followed by device-TLB invalidations.</summary>
    public bool AtsEnabled { get; internal set; }

    /// <summary>True when PRI was enabled with ATS at probe: the function has the capability and its unit takes page
    /// requests (<see cref="IIommuDriver.SupportsPageRequests"/>), so it may send them.</summary>
    public bool PriEnabled { get; internal set; }

    /// <summary>True while <see cref="IommuDevFeature.Aux"/> is enabled (<c>iommu_dev_feature_enabled</c>).</summary>
    public bool AuxEnabled { get; internal set; }

    /// <inheritdoc/>
    public override string Name => Address.ToString();

    /// <summary>
    /// Translates a DMA of this device through its unit, with its <see cref="SourceId"/>: a convenience over
    /// <see cref="IIommuHardware.Translate(in DmaRequest)"/> (hot callers keep a port of the unit per thread, such as
    /// <see cref="Hardware.Vtd.RemappingUnit.OpenPort"/>).
    /// </summary>
    /// <param name="pasid">PASID, or null for an untagged request (RID_PASID).</param>
    /// <param name="iova">Input address.</param>
    /// <param name="access">Read, Write or both.</param>
    /// <returns>The HPA or the fault; never throws.</returns>
    public TranslationResult Translate(uint? pasid, ulong iova, DmaAccess access) => Unit.Translate(new DmaRequest(SourceId, pasid, iova, access));

    /// <summary>The PASIDs attached on this device and their domains (aux domains and
    /// <c>iommu_attach_device_pasid</c> attachments), a snapshot.</summary>
    /// <returns>PASID to domain.</returns>
    public IReadOnlyDictionary<uint, IommuDomain> GetPasidDomains()
    {
        lock (_coreLock)
            return new Dictionary<uint, IommuDomain>(PasidDomains);
    }
}
