using System.Buffers.Binary;
using Siov.Fast.PageTables;

namespace Siov.Fast.Api.Durability;

/// <summary>
/// The journal record of a batch map (<c>POST /domains/{id}/mappings/batch</c>): the domain id (4 bytes) and 25 bytes
/// per mapping (IOVA, HPA, size, little-endian 64-bit; protection, one byte). A 65,536-mapping batch is 1.6 MiB.
/// </summary>
internal static class MapBatchRecord
{
    private const int MappingBytes = 25;

    public static byte[] Encode(int domainId, IoMapping[] mappings)
    {
        byte[] bytes = new byte[4 + mappings.Length * MappingBytes];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, domainId);
        Span<byte> rest = bytes.AsSpan(4);
        foreach (IoMapping m in mappings)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(rest, m.Iova);
            BinaryPrimitives.WriteUInt64LittleEndian(rest[8..], m.Hpa);
            BinaryPrimitives.WriteUInt64LittleEndian(rest[16..], m.Size);
            rest[24] = (byte)m.Protection;
            rest = rest[MappingBytes..];
        }
        return bytes;
    }

    /// <exception cref="StateException">The record's length is not 4 + 25 × n bytes.</exception>
    public static (int DomainId, IoMapping[] Mappings) Decode(byte[] bytes)
    {
        if (bytes.Length < 4 || (bytes.Length - 4) % MappingBytes != 0)
            throw new StateException($"a batch-map record of {bytes.Length} bytes is not 4 + {MappingBytes} × n");
        var mappings = new IoMapping[(bytes.Length - 4) / MappingBytes];
        ReadOnlySpan<byte> rest = bytes.AsSpan(4);
        for (int i = 0; i < mappings.Length; i++)
        {
            mappings[i] = new IoMapping(BinaryPrimitives.ReadUInt64LittleEndian(rest), BinaryPrimitives.ReadUInt64LittleEndian(rest[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(rest[16..]), (DmaProtection)rest[24]);
            rest = rest[MappingBytes..];
        }
        return (BinaryPrimitives.ReadInt32LittleEndian(bytes), mappings);
    }
}
