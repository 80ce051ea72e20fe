namespace Siov.Fast.Vfio;

/// <summary>One DMA mapping of a VFIO container (<c>struct vfio_dma</c>).</summary>
/// <param name="Iova">First IOVA (the guest physical address, for a VM).</param>
/// <param name="Hpa">First HPA.</param>
/// <param name="Size">Bytes, a multiple of 4 KiB.</param>
/// <param name="Protection">Read, Write or both.</param>
public readonly record struct VfioDmaMapping(ulong Iova, ulong Hpa, ulong Size, DmaProtection Protection);
