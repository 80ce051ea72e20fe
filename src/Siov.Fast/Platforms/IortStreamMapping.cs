namespace Siov.Fast.Platforms;

/// <summary>Where a device's ID goes through the IORT: the SMMUv3 that translates its DMA and the StreamID it
/// carries there (see <see cref="IortTable.MapRequesterId"/>).</summary>
/// <param name="Smmu">The SMMUv3 node.</param>
/// <param name="StreamId">The StreamID.</param>
public sealed record IortStreamMapping(IortSmmuV3 Smmu, uint StreamId);
