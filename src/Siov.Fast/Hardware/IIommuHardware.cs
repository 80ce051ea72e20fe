using Siov.Fast.Memory;

namespace Siov.Fast.Hardware;

/// <summary>
/// One IOMMU as the vendor-neutral layers see it (the kernel's <c>struct iommu_device</c>): a register region a driver
/// programs, the memory its tables are in, and the translation of a device's DMA. Implemented by the VT-d remapping unit
/// (<see cref="Vtd.RemappingUnit"/>) and the Arm SMMUv3 (<see cref="SmmuV3.Smmu"/>); the core keys devices, domain ids
/// and drivers on it and never looks inside.
/// </summary>
/// <remarks>A request's <see cref="DmaRequest.RequesterId"/> is the id the IOMMU sees: the PCI requester id on VT-d,
/// the StreamID on SMMUv3 (the platform's IORT maps one to the other; <c>PciDevice.SourceId</c> holds it).</remarks>
public interface IIommuHardware : IMmioRegion
{
    /// <summary>The simulated physical memory its tables, queues and pages are read from.</summary>
    PhysicalMemory Memory { get; }

    /// <summary>The physical address of its register region (VT-d: the DRHD's register base; SMMUv3: the IORT node's base
    /// address), which names it in messages.</summary>
    ulong RegisterBase { get; }

    /// <summary>Translates one DMA request as the hardware does. Never throws, never allocates, takes no lock on a hit.</summary>
    /// <param name="request">The request; its requester id is the id the IOMMU sees.</param>
    /// <returns>The HPA, page size and permissions, or the vendor's fault code (VT-d fault reason, SMMUv3 event id).</returns>
    TranslationResult Translate(in DmaRequest request);

    /// <summary>Translates a batch: <c>results[i]</c> is what <see cref="Translate(in DmaRequest)"/> returns for
    /// <c>requests[i]</c>. No allocation.</summary>
    /// <param name="requests">The requests.</param>
    /// <param name="results">One result per request; at least as long as <paramref name="requests"/>.</param>
    /// <exception cref="IommuException">EINVAL when <paramref name="results"/> is too short (nothing is translated).</exception>
    void Translate(ReadOnlySpan<DmaRequest> requests, Span<TranslationResult> results);
}
