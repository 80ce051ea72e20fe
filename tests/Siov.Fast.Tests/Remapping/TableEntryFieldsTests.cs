using Siov.Fast.Hardware;
using Siov.Fast.Hardware.Vtd;

namespace Siov.Fast.Tests.Remapping;

/// <summary>
/// The field definitions of the root, context, PASID directory and PASID entries against the layouts of VT-d spec
/// sections 9.1-9.6, written out by hand here, and the entries' encode and decode, which use only those definitions.
/// </summary>
public class TableEntryFieldsTests
{
    public static TheoryData<string, RegisterField, int, int> Layout() => new()
    {
        // entry.word.field, definition, high bit, low bit (as the spec prints them)
        { "root.P", RootEntry.PresentField, 0, 0 },
        { "root.R", RootEntry.ReservedField, 11, 1 },
        { "root.CTP", RootEntry.PointerField, 63, 12 },
        { "context.Low.P", ContextEntry.PresentField, 0, 0 },
        { "context.Low.FPD", ContextEntry.FaultProcessingDisableField, 1, 1 },
        { "context.Low.TT", ContextEntry.TranslationTypeField, 3, 2 },
        { "context.Low.R", ContextEntry.ReservedLowField, 11, 4 },
        { "context.High.AW", ContextEntry.AddressWidthField, 2, 0 },
        { "context.High.R7", ContextEntry.ReservedHighBit7Field, 7, 7 },
        { "context.High.DID", ContextEntry.DomainIdField, 23, 8 },
        { "context.High.R", ContextEntry.ReservedHighField, 63, 24 },
        { "smcontext.Q0.P", ScalableContextEntry.PresentField, 0, 0 },
        { "smcontext.Q0.FPD", ScalableContextEntry.FaultProcessingDisableField, 1, 1 },
        { "smcontext.Q0.DTE", ScalableContextEntry.DeviceTlbEnableField, 2, 2 },
        { "smcontext.Q0.PASIDE", ScalableContextEntry.PasidEnableField, 3, 3 },
        { "smcontext.Q0.PRE", ScalableContextEntry.PageRequestEnableField, 4, 4 },
        { "smcontext.Q0.R", ScalableContextEntry.ReservedQ0Field, 8, 5 },
        { "smcontext.Q0.PDTS", ScalableContextEntry.PasidDirectorySizeField, 11, 9 },
        { "smcontext.Q1.RID_PASID", ScalableContextEntry.RidPasidField, 19, 0 },
        { "smcontext.Q1.RID_PRIV", ScalableContextEntry.RidPrivilegedField, 20, 20 },
        { "smcontext.Q1.R", ScalableContextEntry.ReservedQ1Field, 63, 21 },
        { "pasiddir.P", PasidDirectoryEntry.PresentField, 0, 0 },
        { "pasiddir.FPD", PasidDirectoryEntry.FaultProcessingDisableField, 1, 1 },
        { "pasiddir.R", PasidDirectoryEntry.ReservedField, 11, 2 },
        { "pasid.Q0.P", PasidEntry.PresentField, 0, 0 },
        { "pasid.Q0.FPD", PasidEntry.FaultProcessingDisableField, 1, 1 },
        { "pasid.Q0.AW", PasidEntry.AddressWidthField, 4, 2 },
        { "pasid.Q0.PGTT", PasidEntry.TranslationTypeField, 8, 6 },
        { "pasid.Q0.R", PasidEntry.ReservedQ0Field, 11, 10 },
        { "pasid.Q1.DID", PasidEntry.DomainIdField, 15, 0 },
        { "pasid.Q1.R", PasidEntry.ReservedQ1Field, 22, 16 },
    };

    [Theory]
    [MemberData(nameof(Layout))]
    public void Each_field_sits_where_the_spec_puts_it(string name, RegisterField field, int high, int low)
    {
        Assert.True((low, high - low + 1) == (field.Shift, field.Width), $"{name}: defined as {field}, spec says bits {high}:{low}");
    }

    [Fact]
    public void Words_the_spec_defines_fully_are_covered_once()
    {
        // A root entry half and a PASID directory entry: every bit is in exactly one field (the pointer included).
        AssertPartition([RootEntry.PresentField, RootEntry.ReservedField, RootEntry.PointerField]);
        AssertPartition([PasidDirectoryEntry.PresentField, PasidDirectoryEntry.FaultProcessingDisableField,
            PasidDirectoryEntry.ReservedField, RootEntry.PointerField]);
        AssertPartition([ContextEntry.PresentField, ContextEntry.FaultProcessingDisableField, ContextEntry.TranslationTypeField,
            ContextEntry.ReservedLowField, RootEntry.PointerField]);
    }

    [Fact]
    public void Encoders_put_values_in_the_hand_computed_bits()
    {
        // Legacy context: TT 2 (pass-through) at 3:2, FPD at 1, P at 0; AW 2 at 2:0, DID 0x1234 at 23:8.
        ContextEntry context = ContextEntry.Create(2, 0x5000, 2, 0x1234, faultProcessingDisable: true);
        Assert.Equal((0x5000UL | 0b1011, 0x12_3402UL), (context.Low, context.High));
        // Scalable context: PDTS 3 at 11:9, PASIDE at 3, DTE at 2, P; RID_PASID 0xABCDE.
        ScalableContextEntry sm = ScalableContextEntry.Create(0x7000, 3, 0xABCDE, deviceTlb: true, pasidEnable: true);
        Assert.Equal((0x7000UL | 3 << 9 | 0b1101, 0xABCDEUL), (sm.Q0, sm.Q1));
        // PASID entry, second level: PGTT 010b at 8:6, AW 2 at 4:2, P; DID 9.
        PasidEntry pasid = PasidEntry.SecondLevel(0x9000, 2, 9);
        Assert.Equal((0x9000UL | 2 << 6 | 2 << 2 | 1, 9UL), (pasid.Q0, pasid.Q1));
        Assert.Equal((PasidTranslationType.SecondLevel, 2, (ushort)9, 0x9000UL),
            (pasid.TranslationType, pasid.AddressWidth, pasid.DomainId, pasid.SecondLevelRoot));
        Assert.Equal(0x3001UL, RootEntry.Half(0x3000));
        Assert.Equal(0x4001UL, PasidDirectoryEntry.Create(0x4000).Value);
    }

    private static void AssertPartition(RegisterField[] fields)
    {
        ulong seen = 0;
        foreach (RegisterField field in fields)
        {
            Assert.True((seen & field.Mask) == 0, $"{field} overlaps another field");
            seen |= field.Mask;
        }
        Assert.Equal(ulong.MaxValue, seen);
    }
}
