namespace Siov.Fast.Iommufd;

/// <summary>One mapping of an IOAS (an <c>iopt_area</c>): IOVA, the HPA it maps to, length in bytes, protection.</summary>
/// <param name="Iova">First IOVA (4 KiB aligned).</param>
/// <param name="Hpa">The HPA it maps to (this model maps HPAs where the kernel pins user memory).</param>
/// <param name="Length">Bytes (a multiple of 4 KiB).</param>
/// <param name="Protection">Read and/or write.</param>
public readonly record struct IoasArea(ulong Iova, ulong Hpa, ulong Length, DmaProtection Protection)
{
    /// <summary>The last IOVA of the area.</summary>
    public ulong Last => Iova + Length - 1;
}
