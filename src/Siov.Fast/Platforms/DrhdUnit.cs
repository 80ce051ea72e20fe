using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

/// <summary>DMA Remapping Hardware Unit Definition, DRHD (VT-d spec 8.3).</summary>
/// <remarks>Layout: Type 0 (=0), Length 2, Flags 4 (bit 0 INCLUDE_PCI_ALL), Size 5 (bits 3:0: the
/// register set spans 2^N 4 KiB pages), Segment 6, Register Base Address 8, Device Scopes 16..</remarks>
/// <param name="Offset">Byte offset of the structure in the table.</param>
/// <param name="Flags">The flags byte.</param>
/// <param name="SizeField">The size byte (bits 3:0 = N, 2^N pages of registers).</param>
/// <param name="Segment">PCI segment the unit serves.</param>
/// <param name="RegisterBase">Physical base address of the unit's registers.</param>
/// <param name="Scopes">The device scopes.</param>
public sealed record DrhdUnit(int Offset, byte Flags, byte SizeField, ushort Segment, ulong RegisterBase, ImmutableArray<DeviceScope> Scopes)
{
    /// <summary>INCLUDE_PCI_ALL (flags bit 0): the unit takes every device of its segment that no other unit names.</summary>
    public bool IncludePciAll => (Flags & 1) != 0;

    /// <summary>Size of the register set in bytes: 4 KiB * 2^N.</summary>
    public ulong RegisterSetSize => 4096UL << (SizeField & 0xF);
}
