namespace Siov.Fast;

/// <summary>
/// The access a DMA request makes, checked against the effective permissions of a walk.
/// A request with <see cref="None"/> checks presence only (an address lookup, as
/// <c>iommu_iova_to_phys</c> does).
/// </summary>
[Flags]
public enum DmaAccess
{
    /// <summary>No permission check: the walk only needs a present leaf.</summary>
    None = 0,

    /// <summary>A DMA read (device reads host memory); needs R.</summary>
    Read = 1,

    /// <summary>A DMA write (device writes host memory); needs W.</summary>
    Write = 2,

    /// <summary>A read-modify-write (e.g. an atomic); needs R and W.</summary>
    ReadWrite = Read | Write,
}
