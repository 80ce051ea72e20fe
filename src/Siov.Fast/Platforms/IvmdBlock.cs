namespace Siov.Fast.Platforms;

/// <summary>An I/O Virtualization Memory Definition block, IVMD (AMD IOMMU spec 5.2.3): a memory range
/// with unity mapping or exclusion for all devices (20h), one device (21h) or a range (22h).</summary>
/// <remarks>Layout: Type 0, Flags 1 (bit 0 Unity, 1 IR, 2 IW, 3 ExclusionRange), Length 2 (=32), DeviceID 4,
/// Auxiliary Data 6 (end of range for 22h), Reserved 8-15, Start Address 16, Memory Block Length 24.</remarks>
/// <param name="Offset">Byte offset of the block in the table.</param>
/// <param name="Type">20h, 21h or 22h.</param>
/// <param name="Flags">The flags byte.</param>
/// <param name="DeviceId">The device (21h) or start of the range (22h).</param>
/// <param name="AuxiliaryData">End of the range for 22h.</param>
/// <param name="StartAddress">First byte of the memory block.</param>
/// <param name="MemoryLength">Length of the memory block in bytes.</param>
public sealed record IvmdBlock(int Offset, byte Type, byte Flags, ushort DeviceId, ushort AuxiliaryData, ulong StartAddress, ulong MemoryLength)
{
    /// <summary>Exclusion range (flags bit 3): the IOMMU does not translate the range.</summary>
    public bool ExclusionRange => (Flags & 8) != 0;

    /// <summary>Unity mapping (flags bit 0): the range is identity-mapped.</summary>
    public bool Unity => (Flags & 1) != 0;
}
