using Siov.Fast.Iommu;

namespace Siov.Fast.Vfio;

/// <summary>A consistent view of a <see cref="VfioContainer"/>, read under its lock (<see cref="VfioContainer.GetSnapshot"/>).</summary>
/// <param name="Groups">The groups in the container, by id.</param>
/// <param name="Domains">The container's domains.</param>
/// <param name="Mappings">The DMA mappings in IOVA order.</param>
/// <param name="Pinned">The ranges a vendor driver may pin (every mapping while an external mdev group is in the container).</param>
public sealed record VfioContainerSnapshot(
    IReadOnlyList<IommuGroup> Groups, IReadOnlyList<IommuDomain> Domains, IReadOnlyList<VfioDmaMapping> Mappings, IReadOnlyList<VfioDmaMapping> Pinned);
