using System.Reflection;
using Siov.Fast.Hardware;
using Siov.Fast.Hardware.Vtd;

namespace Siov.Fast.Tests.Remapping;

/// <summary>
/// The CAP_REG / ECAP_REG field definitions (<see cref="CapabilityFields"/>, <see cref="ExtendedCapabilityFields"/>)
/// against the layouts of VT-d spec 11.4.2 and 11.4.3, written out by hand here, and the registers' decode and
/// encode, which use only those definitions.
/// </summary>
public class CapabilityFieldsTests
{
    // VT-d spec 11.4.2 (CAP_REG) and 11.4.3 (ECAP_REG), high bit first as the spec prints them.
    private static readonly (string Name, int High, int Low)[] CapLayout =
    [
        ("ND", 2, 0), ("AFL", 3, 3), ("RWBF", 4, 4), ("PLMR", 5, 5), ("PHMR", 6, 6), ("CM", 7, 7),
        ("SAGAW", 12, 8), ("MGAW", 21, 16), ("ZLR", 22, 22), ("FRO", 33, 24), ("SLLPS", 37, 34),
        ("PSI", 39, 39), ("NFR", 47, 40), ("MAMV", 53, 48), ("DWD", 54, 54), ("DRD", 55, 55),
        ("FL1GP", 56, 56), ("PI", 59, 59), ("FL5LP", 60, 60), ("ESIRTPS", 62, 62), ("ESRTPS", 63, 63),
    ];

    private static readonly (string Name, int High, int Low)[] EcapLayout =
    [
        ("C", 0, 0), ("QI", 1, 1), ("DT", 2, 2), ("IR", 3, 3), ("EIM", 4, 4), ("PT", 6, 6), ("SC", 7, 7),
        ("IRO", 17, 8), ("MHMV", 23, 20), ("MTS", 25, 25), ("NEST", 26, 26), ("PRS", 29, 29), ("ERS", 30, 30),
        ("SRS", 31, 31), ("NWFS", 33, 33), ("EAFS", 34, 34), ("PSS", 39, 35), ("PASID", 40, 40), ("DIT", 41, 41),
        ("PDS", 42, 42), ("SMTS", 43, 43), ("VCS", 44, 44), ("SLADS", 45, 45), ("SLTS", 46, 46), ("FLTS", 47, 47),
        ("SMPWCS", 48, 48), ("RPS", 49, 49), ("ADMS", 52, 52), ("RPRIVS", 53, 53),
    ];

    // Bits in no modelled field, by hand (as in RegisterTests). CAP: 15:13, 23, 38, 57, 58, 61.
    // ECAP: 5, 19:18, 24, 28:27, 32, 51:50, 63:54.
    private const ulong CapReserved = 0x2600_0040_0080_E000UL;
    private const ulong EcapReserved = 0xFFCC_0001_190C_0020UL;

    public static TheoryData<string> Registers => new() { "CAP_REG", "ECAP_REG" };

    [Theory]
    [MemberData(nameof(Registers))]
    public void Fields_ArePairwiseDisjoint(string register)
    {
        var fields = Definitions(register);
        for (int i = 0; i < fields.Count; i++)
        {
            Assert.InRange(fields[i].Field.Width, 1, 64 - fields[i].Field.Shift);
            for (int j = i + 1; j < fields.Count; j++)
                Assert.True((fields[i].Field.Mask & fields[j].Field.Mask) == 0,
                    $"{register}.{fields[i].Name} ({fields[i].Field}) overlaps {register}.{fields[j].Name} ({fields[j].Field})");
        }
    }

    [Theory]
    [MemberData(nameof(Registers))]
    public void Fields_CoverExactlyTheBitsOutsideTheReservedOnes(string register)
    {
        var fields = Definitions(register);
        ulong union = fields.Aggregate(0UL, (bits, f) => bits | f.Field.Mask);
        ulong reserved = register == "CAP_REG" ? CapReserved : EcapReserved;
        Assert.Equal(Hex(~reserved), Hex(union));
        Assert.Equal(Hex(union), Hex(register == "CAP_REG" ? CapabilityFields.DefinedBits : ExtendedCapabilityFields.DefinedBits));
    }

    [Theory]
    [MemberData(nameof(Registers))]
    public void Fields_MatchTheSpecLayout(string register)
    {
        var layout = register == "CAP_REG" ? CapLayout : EcapLayout;
        var expected = layout.Select(f => $"{f.Name} {new RegisterField(f.Low, f.High - f.Low + 1)}").ToArray();
        var actual = Definitions(register).Select(f => $"{f.Name} {f.Field}").ToArray();
        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(Registers))]
    public void All_ListsEveryPublicField(string register)
    {
        var type = register == "CAP_REG" ? typeof(CapabilityFields) : typeof(ExtendedCapabilityFields);
        var declared = type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(RegisterField))
            .Select(f => (RegisterField)f.GetValue(null)!)
            .OrderBy(f => f.Shift)
            .ToArray();
        Assert.Equal(declared, Definitions(register).Select(f => f.Field).OrderBy(f => f.Shift).ToArray());
    }

    [Fact]
    public void RandomImages_RoundTrip_ThroughDecodeAndEncode()
    {
        var random = new Random(0xCAB);
        var buffer = new byte[8];
        for (int i = 0; i < 20_000; i++)
        {
            random.NextBytes(buffer);
            ulong x = BitConverter.ToUInt64(buffer);
            // Sparse and dense images as well as uniform ones, so single fields are seen all-zero and all-one.
            x = (i % 3) switch { 0 => x, 1 => x & BitConverter.ToUInt64(RandomBytes(random)), _ => x | BitConverter.ToUInt64(RandomBytes(random)) };
            var c = CapabilityRegister.Decode(x);
            var e = ExtendedCapabilityRegister.Decode(x);
            Assert.Equal(Hex(x), Hex(c.Encode()));
            Assert.Equal(Hex(x), Hex(e.Encode()));
            Assert.Equal(c, CapabilityRegister.Decode(c.Encode()));
            Assert.Equal(e, ExtendedCapabilityRegister.Decode(e.Encode()));
            Assert.Equal(x & CapReserved, c.OtherBits);
            Assert.Equal(x & EcapReserved, e.OtherBits);
        }
    }

    [Theory]
    [MemberData(nameof(Registers))]
    public void EachFieldAlone_DecodesToADifferentRecord_AndRoundTrips(string register)
    {
        // Every field at all ones, alone: the image round-trips, lands nowhere in OtherBits,
        // and changes the decoded record (so decode reads the field from where it is defined).
        foreach (var (name, field) in Definitions(register))
        {
            ulong x = field.Mask;
            if (register == "CAP_REG")
            {
                var c = CapabilityRegister.Decode(x);
                Assert.Equal(Hex(x), Hex(c.Encode()));
                Assert.Equal(0UL, c.OtherBits);
                Assert.True(c != CapabilityRegister.Decode(0), $"CAP_REG.{name} is not decoded");
            }
            else
            {
                var e = ExtendedCapabilityRegister.Decode(x);
                Assert.Equal(Hex(x), Hex(e.Encode()));
                Assert.Equal(0UL, e.OtherBits);
                Assert.True(e != ExtendedCapabilityRegister.Decode(0), $"ECAP_REG.{name} is not decoded");
            }
        }
    }

    private static IReadOnlyList<(string Name, RegisterField Field)> Definitions(string register) =>
        register == "CAP_REG" ? CapabilityFields.All : ExtendedCapabilityFields.All;

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[8];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string Hex(ulong value) => $"0x{value:x16}";
}
