namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// Invalidation descriptor types and fields (VT-d spec section 6.5.2). A descriptor is 128 bits (two
/// words) or, with IQA_REG.DW set, 256 bits whose upper 128 bits are reserved for the types here. The
/// type is bits 3:0 with bits 11:9 above them.
/// </summary>
public static class InvalidationDescriptors
{
    /// <summary>Context-cache invalidate (G: 01b global, 10b domain, 11b device).</summary>
    public const int ContextCache = 1;

    /// <summary>IOTLB invalidate (G: 01b global, 10b domain, 11b page).</summary>
    public const int Iotlb = 2;

    /// <summary>Device-TLB invalidate: an ATS invalidation request, without PASID, to the function SID.</summary>
    public const int DeviceTlb = 3;

    /// <summary>Interrupt entry cache invalidate (refused: interrupt remapping is not modelled).</summary>
    public const int InterruptEntryCache = 4;

    /// <summary>Invalidation wait (IF, SW, FN, status data and address).</summary>
    public const int Wait = 5;

    /// <summary>PASID-based IOTLB invalidate (G: 10b PASID-selective, 11b page-selective within PASID).</summary>
    public const int PasidIotlb = 6;

    /// <summary>PASID-cache invalidate (G: 00b domain, 01b PASID-selective, 11b global).</summary>
    public const int PasidCache = 7;

    /// <summary>PASID-based device-TLB invalidate: an ATS invalidation request with a PASID (G: every PASID) to the function SID.</summary>
    public const int PasidDeviceTlb = 8;

    /// <summary>Page group response: answers a page request group (response code, RID, PASID, PRG index).</summary>
    public const int PageGroupResponse = 9;

    /// <summary>Type, low bits (3:0) of word 0.</summary>
    public static readonly RegisterField TypeLow = new(0, 4);

    /// <summary>Type, high bits (11:9) of word 0, above <see cref="TypeLow"/>.</summary>
    public static readonly RegisterField TypeHigh = new(9, 3);

    /// <summary>G: granularity (context-cache, IOTLB, PASID-based IOTLB and PASID-cache descriptors).</summary>
    public static readonly RegisterField Granularity = new(4, 2);

    /// <summary>DID (word 0, bits 31:16) of context-cache, IOTLB, PASID-based IOTLB and PASID-cache descriptors.</summary>
    public static readonly RegisterField DomainId = new(16, 16);

    /// <summary>SID (word 0, bits 47:32) of a context-cache descriptor.</summary>
    public static readonly RegisterField ContextSourceId = new(32, 16);

    /// <summary>FM (word 0, bits 49:48) of a context-cache descriptor.</summary>
    public static readonly RegisterField ContextFunctionMask = new(48, 2);

    /// <summary>DR and DW (word 0, bits 7:6) of an IOTLB descriptor.</summary>
    public static readonly RegisterField IotlbDrain = new(6, 2);

    /// <summary>PASID (word 0, bits 51:32) of PASID-based IOTLB and PASID-cache descriptors.</summary>
    public static readonly RegisterField Pasid = new(32, 20);

    /// <summary>SID (word 0, bits 47:32) of a device-TLB descriptor: the function the request goes to.</summary>
    public static readonly RegisterField DeviceTlbSourceId = new(32, 16);

    /// <summary>MIP (word 0, bits 20:16) of a device-TLB descriptor: the function's invalidate queue depth (not modelled).</summary>
    public static readonly RegisterField DeviceTlbMaxPending = new(16, 5);

    /// <summary>PFSID bits 3:0 (word 0, bits 15:12) of both device-TLB descriptors.</summary>
    public static readonly RegisterField PhysicalFunctionSourceIdLow = new(12, 4);

    /// <summary>PFSID bits 15:4 (word 0, bits 63:52) of both device-TLB descriptors.</summary>
    public static readonly RegisterField PhysicalFunctionSourceIdHigh = new(52, 12);

    /// <summary>S (word 1, bit 0) of a device-TLB descriptor: ADDR encodes a range larger than 4 KiB (PCIe ATS encoding).</summary>
    public static readonly RegisterField DeviceTlbSize = new(0, 1);

    /// <summary>SID (word 0, bits 31:16) of a PASID-based device-TLB descriptor.</summary>
    public static readonly RegisterField PasidDeviceTlbSourceId = new(16, 16);

    /// <summary>MIP (word 0, bits 8:4) of a PASID-based device-TLB descriptor.</summary>
    public static readonly RegisterField PasidDeviceTlbMaxPending = new(4, 5);

    /// <summary>G (word 1, bit 0) of a PASID-based device-TLB descriptor: every PASID's entries in the range.</summary>
    public static readonly RegisterField PasidDeviceTlbGlobal = new(0, 1);

    /// <summary>S (word 1, bit 11) of a PASID-based device-TLB descriptor.</summary>
    public static readonly RegisterField PasidDeviceTlbSize = new(11, 1);

    /// <summary>ADDR (word 1, bits 63:12) of both device-TLB descriptors.</summary>
    public static readonly RegisterField DeviceTlbAddress = new(12, 52);

    /// <summary>Wait descriptor IF (bit 4): set ICS_REG.IWC on completion.</summary>
    public static readonly RegisterField WaitInterrupt = new(4, 1);

    /// <summary>Wait descriptor SW (bit 5): write the status data to the status address.</summary>
    public static readonly RegisterField WaitStatusWrite = new(5, 1);

    /// <summary>Wait descriptor FN (bit 6): fence, later descriptors wait for earlier ones.</summary>
    public static readonly RegisterField WaitFence = new(6, 1);

    /// <summary>Wait descriptor PD (bit 7): page-request drain.</summary>
    public static readonly RegisterField WaitPageRequestDrain = new(7, 1);

    /// <summary>Wait descriptor status data (word 0, bits 63:32).</summary>
    public static readonly RegisterField WaitStatusData = new(32, 32);

    /// <summary>Wait descriptor status address (word 1, bits 63:2; 4-byte aligned).</summary>
    public static readonly RegisterField WaitStatusAddress = new(2, 62);

    /// <summary>The type of a descriptor from its first word.</summary>
    /// <param name="word0">Bits 63:0 of the descriptor.</param>
    /// <returns>The type, 0 to 127.</returns>
    public static int TypeOf(ulong word0) => (int)(TypeHigh.Get(word0) << 4 | TypeLow.Get(word0));

    /// <summary>
    /// The page-selective invalidation that covers <c>[iova, iova + size)</c>: the smallest aligned power-of-two block
    /// of 4 KiB pages holding both ends, as ADDR (its first byte) and AM (log2 of its pages).
    /// </summary>
    /// <param name="iova">First address (any alignment).</param>
    /// <param name="size">Bytes, at least 1.</param>
    /// <returns>ADDR and AM.</returns>
    /// <exception cref="IommuException">EINVAL for a zero size or a range that wraps past 2^64.</exception>
    public static (ulong Address, int AddressMask) CoveringPages(ulong iova, ulong size)
    {
        if (size == 0)
            Throw.Iommu(Errno.EINVAL, $"IOTLB range invalidation at {Throw.Hex(iova)}: size is zero");
        if (iova + size - 1 < iova)
            Throw.Iommu(Errno.EINVAL, $"IOTLB range [{Throw.Hex(iova)}, +{Throw.Hex(size)}) wraps past 2^64");
        ulong firstPage = iova >> 12;
        ulong lastPage = (iova + size - 1) >> 12;
        int mask = 0;
        while (mask < 52 && (firstPage >> mask) != (lastPage >> mask))
            mask++;
        return (firstPage >> mask << mask << 12, mask);
    }
}
