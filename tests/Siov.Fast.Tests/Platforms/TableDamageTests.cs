using System.Buffers.Binary;
using Siov.Fast.Platforms;

namespace Siov.Fast.Tests.Platforms;

/// <summary>Damaged tables give EINVAL naming the byte offset; fuzzed copies of every real table give a
/// valid result or an <see cref="IommuException"/>, never another exception type.</summary>
public class TableDamageTests
{
    public static TheoryData<string> AllTables => new(PlatformTestData.DmarNames.Concat(PlatformTestData.IvrsNames));

    private static object Parse(string name, byte[] bytes) =>
        name.EndsWith(".dmar", StringComparison.Ordinal) ? DmarTable.Parse(bytes) : IvrsTable.Parse(bytes);

    private static void FixChecksum(byte[] bytes, int length)
    {
        bytes[9] = 0;
        byte sum = 0;
        for (int i = 0; i < length; i++)
            sum += bytes[i];
        bytes[9] = (byte)-sum;
    }

    [Theory]
    [MemberData(nameof(AllTables))]
    public void Parse_EveryTruncation_IsEinvalNamingTheOffset(string name)
    {
        byte[] table = PlatformTestData.Bytes(name);
        for (int n = 0; n < table.Length; n++)
        {
            var e = Assert.Throws<IommuException>(() => Parse(name, table[..n]));
            Assert.Equal(Errno.EINVAL, e.Code);
            Assert.Contains($"offset {n}", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(AllTables))]
    public void Parse_WrongChecksum_IsEinvalAtOffset9(string name)
    {
        byte[] table = PlatformTestData.Bytes(name);
        table[9] ^= 0x01;

        var e = Assert.Throws<IommuException>(() => Parse(name, table));
        Assert.Equal(Errno.EINVAL, e.Code);
        Assert.Contains("checksum", e.Message, StringComparison.Ordinal);
        Assert.Contains("offset 9", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SubtableLengthPastTheEnd_IsEinvalNamingTheSubtableOffset()
    {
        byte[] table = PlatformTestData.Bytes("dell-poweredge-r820.dmar");
        // The RMRR at 0x128 is the last but one structure; make it claim 0x100 bytes.
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(0x128)));
        BinaryPrimitives.WriteUInt16LittleEndian(table.AsSpan(0x12A), 0x100);
        FixChecksum(table, table.Length);

        var e = Assert.Throws<IommuException>(() => DmarTable.Parse(table));
        Assert.Equal(Errno.EINVAL, e.Code);
        Assert.Contains("offset 296", e.Message, StringComparison.Ordinal); // 0x128
    }

    [Fact]
    public void Parse_ScopeLengthPastItsStructure_IsEinvalNamingTheScope()
    {
        byte[] table = PlatformTestData.Bytes("dell-poweredge-r820.dmar");
        // First scope of the second DRHD (0x78) is at 0x88; its length byte is at 0x89.
        table[0x89] = 0x30;
        FixChecksum(table, table.Length);

        var e = Assert.Throws<IommuException>(() => DmarTable.Parse(table));
        Assert.Contains("offset 137", e.Message, StringComparison.Ordinal); // 0x89
    }

    [Fact]
    public void Parse_WrongSignature_IsEinval()
    {
        byte[] table = PlatformTestData.Bytes("supermicro-h8dgu.ivrs");
        var e = Assert.Throws<IommuException>(() => DmarTable.Parse(table));
        Assert.Contains("signature 'IVRS'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(AllTables))]
    public void Parse_FuzzedCopies_GiveResultOrIommuException(string name)
    {
        byte[] original = PlatformTestData.Bytes(name);
        var random = new Random(20261125);
        int parsed = 0, rejected = 0;
        for (int round = 0; round < 400; round++)
        {
            byte[] copy = (byte[])original.Clone();
            int length = copy.Length;
            switch (round % 3)
            {
                case 0: // single bit flip, checksum left wrong
                    FlipBit(copy, random);
                    break;
                case 1: // single bit flip, checksum repaired so the structure walk sees it
                    FlipBit(copy, random);
                    FixChecksum(copy, Math.Min(length, (int)Math.Min((uint)length, BinaryPrimitives.ReadUInt32LittleEndian(copy.AsSpan(4)))));
                    break;
                default: // truncated, with length and checksum repaired
                    length = random.Next(36, original.Length);
                    copy = copy[..length];
                    BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(4), (uint)length);
                    FixChecksum(copy, length);
                    break;
            }
            try
            {
                Assert.NotNull(Parse(name, copy));
                parsed++;
            }
            catch (Exception e)
            {
                Assert.IsType<IommuException>(e);
                Assert.Matches("offset [0-9]+", e.Message);
                rejected++;
            }
        }
        // Both paths were taken: the fuzzing reached past the header checks.
        Assert.True(parsed > 0, "no fuzzed copy parsed");
        Assert.True(rejected > 0, "no fuzzed copy was rejected");
    }

    private static void FlipBit(byte[] bytes, Random random)
    {
        int bit = random.Next(bytes.Length * 8);
        bytes[bit / 8] ^= (byte)(1 << (bit % 8));
    }
}
