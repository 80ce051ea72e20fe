using Siov.Fast.Hardware.Vtd;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.Remapping;

/// <summary>
/// CAP_REG / ECAP_REG decode and encode (VT-d spec 11.4.2, 11.4.3) and the table-entry encodings
/// (VT-d spec 9.1-9.6), against values decoded by hand from real register images that Linux
/// printed at boot (shared/platforms/dmar-registers.md) and from the bit layouts.
/// </summary>
public class RegisterTests
{
    // Bits the spec reserves, by hand. CAP: 15:13 (0xe000), 23 (0x80_0000), 38 (0x40_0000_0000),
    // 57, 58, 61 (0x2600_0000_0000_0000). ECAP: 5 (0x20), 19:18 (0xc_0000), 24 (0x100_0000),
    // 28:27 (0x1800_0000), 32, 51:50 (0xc_0000_0000_0000), 63:54 (0xffc0_0000_0000_0000).
    private const ulong CapReserved = 0x2600_0040_0080_E000UL;
    private const ulong EcapReserved = 0xFFCC_0001_190C_0020UL;

    private const ulong SprCap = 0x19ed008c40780c66, SprEcap = 0x3ee9e86f050df;
    private const ulong GfxCap = 0x1c0000c40660462, GfxEcap = 0x29a00f0505e;
    private const ulong ClientCap = 0x8d2008c40660462, ClientEcap = 0xf050da;
    private const ulong SnbCap = 0xc9008020660262, SnbEcap = 0xf010da;

    private static readonly PageSizes AllSizes = PageSizes.Size4K | PageSizes.Size2M | PageSizes.Size1G;

    [Fact]
    public void Cap_SapphireRapids_DecodesByHand()
    {
        // 19ed008c40780c66, bytes low to high: 66 0c 78 40 8c 00 ed 19.
        var c = CapabilityRegister.Decode(SprCap);
        // byte 0 = 0x66 = 0110_0110 -> ND = 110b = 6 -> 2^(4+12) = 65536; AFL 0, RWBF 0, PLMR 1, PHMR 1, CM 0.
        Assert.Equal(6, c.NumberOfDomainsField);
        Assert.Equal(65536, c.NumberOfDomains);
        Assert.False(c.AdvancedFaultLogging || c.RequiredWriteBufferFlushing || c.CachingMode);
        Assert.True(c.ProtectedLowMemoryRegion && c.ProtectedHighMemoryRegion);
        // byte 1 = 0x0c -> SAGAW = 0b01100 -> 4- and 5-level only.
        Assert.Equal(0b01100, c.SupportedAdjustedGuestAddressWidths);
        Assert.False(c.SupportsLevels(3));
        Assert.True(c.SupportsLevels(4) && c.SupportsLevels(5));
        // byte 2 = 0x78 -> bits 21:16 = 0x38 = 56 -> MGAW 57; bit 22 (0x40) ZLR = 1.
        Assert.Equal(57, c.MaximumGuestAddressWidth);
        Assert.True(c.ZeroLengthRead);
        // byte 3 = 0x40, byte 4 = 0x8c: FRO = 0x40 | (0x8c & 3) << 8 = 0x40; SLLPS = (0x8c >> 2) & 0xf = 3; PSI = 0x8c >> 7 = 1.
        Assert.Equal(0x40, c.FaultRecordingRegisterOffset);
        Assert.Equal(3, c.SecondLevelLargePageSupport);
        Assert.Equal(AllSizes, c.SecondLevelPageSizes);
        Assert.True(c.PageSelectiveInvalidation);
        // byte 5 = 0x00 -> NFR field 0 -> 1 record.
        Assert.Equal(1, c.NumberOfFaultRecordingRegisters);
        // byte 6 = 0xed = 1110_1101 -> MAMV = 0x2d = 45, DWD 1, DRD 1.
        Assert.Equal(45, c.MaximumAddressMaskValue);
        Assert.True(c.DmaWriteDraining && c.DmaReadDraining);
        // byte 7 = 0x19 = 0001_1001 -> bits 56 (FL1GP), 59 (PI), 60 (FL5LP); 62, 63 clear.
        Assert.True(c.FirstLevel1GPages && c.PostedInterrupts && c.FirstLevel5LevelPaging);
        Assert.False(c.EnhancedSetInterruptRemapTablePointer || c.EnhancedSetRootTablePointer);
        Assert.Equal(0UL, c.OtherBits);
    }

    [Fact]
    public void Ecap_SapphireRapids_DecodesByHand()
    {
        // 0003ee9e86f050df, bytes low to high: df 50 f0 86 9e ee 03 00.
        var e = ExtendedCapabilityRegister.Decode(SprEcap);
        // byte 0 = 0xdf = 1101_1111 -> C, QI, DT, IR, EIM, PT, SC all 1 (bit 5 reserved, 0).
        Assert.True(e.PageWalkCoherency && e.QueuedInvalidation && e.DeviceTlb && e.InterruptRemapping);
        Assert.True(e.ExtendedInterruptMode && e.PassThrough && e.SnoopControl);
        // byte 1 = 0x50, byte 2 = 0xf0: IRO = 0x50 | (0xf0 & 3) << 8 = 0x50; MHMV = 0xf0 >> 4 = 0xf.
        Assert.Equal(0x50, e.IotlbRegisterOffset);
        Assert.Equal(0xF, e.MaximumHandleMaskValue);
        // byte 3 = 0x86 = 1000_0110 -> MTS (25) 1, NEST (26) 1, PRS (29) 0, ERS (30) 0, SRS (31) 1.
        Assert.True(e.MemoryTypeSupport && e.NestedTranslation && e.SupervisorRequest);
        Assert.False(e.PageRequest || e.ExecuteRequest);
        // byte 4 = 0x9e = 1001_1110 -> NWFS (33) 1, EAFS (34) 1, PSS = 0x9e >> 3 = 19 -> 20-bit PASIDs.
        Assert.True(e.NoWriteFlag && e.ExtendedAccessedFlag);
        Assert.Equal(20, e.PasidWidth);
        // byte 5 = 0xee = 1110_1110 -> PASID (40) 0, DIT 1, PDS 1, SMTS 1, VCS (44) 0, SLADS 1, SLTS 1, FLTS 1.
        Assert.False(e.Pasid || e.VirtualCommand);
        Assert.True(e.DeviceTlbInvalidationThrottling && e.PageRequestDrain && e.ScalableMode);
        Assert.True(e.SecondLevelAccessedDirty && e.SecondLevelTranslation && e.FirstLevelTranslation);
        // byte 6 = 0x03 -> SMPWCS (48) 1, RPS (49) 1; ADMS (52), RPRIVS (53) 0.
        Assert.True(e.ScalableModePageWalkCoherency && e.RidPasid);
        Assert.False(e.AbortDmaMode || e.RidPriv);
        Assert.Equal(0UL, e.OtherBits);
    }

    [Fact]
    public void ClientGraphicsUnit_DecodesByHand()
    {
        // cap 01c0000c40660462: bytes 62 04 66 40 0c 00 c0 01.
        var c = CapabilityRegister.Decode(GfxCap);
        Assert.Equal(256, c.NumberOfDomains);                                // 0x62 & 7 = 2 -> 2^8
        Assert.Equal(0b00100, c.SupportedAdjustedGuestAddressWidths);        // 0x04 -> 4-level only
        Assert.True(c.SupportsLevels(4) && !c.SupportsLevels(3) && !c.SupportsLevels(5));
        Assert.Equal(39, c.MaximumGuestAddressWidth);                        // 0x66 & 0x3f = 38 -> 39
        Assert.Equal(0x40, c.FaultRecordingRegisterOffset);
        Assert.Equal(AllSizes, c.SecondLevelPageSizes);                      // (0x0c >> 2) & 0xf = 3
        Assert.False(c.PageSelectiveInvalidation);                           // 0x0c bit 7 = 0
        Assert.Equal(1, c.NumberOfFaultRecordingRegisters);
        Assert.Equal(0, c.MaximumAddressMaskValue);                          // 0xc0 & 0x3f = 0
        Assert.True(c.FirstLevel1GPages && !c.PostedInterrupts);             // byte 7 = 0x01 -> bit 56 only
        // ecap 0000029a00f0505e: bytes 5e 50 f0 00 9a 02.
        var e = ExtendedCapabilityRegister.Decode(GfxEcap);
        Assert.False(e.PageWalkCoherency || e.SnoopControl);                 // 0x5e = 0101_1110: C 0, SC 0
        Assert.True(e.QueuedInvalidation && e.DeviceTlb && e.PassThrough);
        Assert.Equal(0x50, e.IotlbRegisterOffset);
        Assert.Equal(20, e.PasidWidth);                                      // 0x9a >> 3 = 19
        Assert.True(e.NoWriteFlag && !e.ExtendedAccessedFlag);               // 0x9a bits 1, 2 = 1, 0
        Assert.True(e.DeviceTlbInvalidationThrottling);                      // byte 5 = 0x02 -> bit 41
        Assert.False(e.Pasid || e.ScalableMode || e.SecondLevelTranslation || e.FirstLevelTranslation || e.RidPasid);
    }

    [Fact]
    public void ClientOtherUnit_DecodesByHand()
    {
        // cap 08d2008c40660462: bytes 62 04 66 40 8c 00 d2 08.
        var c = CapabilityRegister.Decode(ClientCap);
        Assert.Equal(256, c.NumberOfDomains);
        Assert.Equal(0b00100, c.SupportedAdjustedGuestAddressWidths);
        Assert.Equal(39, c.MaximumGuestAddressWidth);
        Assert.Equal(AllSizes, c.SecondLevelPageSizes);                      // (0x8c >> 2) & 0xf = 3
        Assert.True(c.PageSelectiveInvalidation);                            // 0x8c bit 7
        Assert.Equal(18, c.MaximumAddressMaskValue);                         // 0xd2 & 0x3f = 0x12
        Assert.True(c.DmaWriteDraining && c.DmaReadDraining);                // 0xd2 bits 6, 7
        Assert.True(c.PostedInterrupts && !c.FirstLevel1GPages);             // byte 7 = 0x08 -> bit 59
        // ecap f050da: byte 0 = 0xda = 1101_1010 -> QI, IR, EIM, PT, SC; C 0, DT 0.
        var e = ExtendedCapabilityRegister.Decode(ClientEcap);
        Assert.True(e.QueuedInvalidation && e.InterruptRemapping && e.ExtendedInterruptMode && e.PassThrough && e.SnoopControl);
        Assert.False(e.PageWalkCoherency || e.DeviceTlb);
        Assert.Equal(0x50, e.IotlbRegisterOffset);
        Assert.Equal(0xF, e.MaximumHandleMaskValue);
        Assert.Equal(1, e.PasidWidth);                                       // PSS field 0 -> width 1
        Assert.False(e.Pasid || e.ScalableMode);
    }

    [Fact]
    public void SandyBridge_DecodesByHand_AndIsTheLegacyPreset()
    {
        // cap 00c9008020660262: bytes 62 02 66 20 80 00 c9 00.
        var c = CapabilityRegister.Decode(SnbCap);
        Assert.Equal(256, c.NumberOfDomains);
        Assert.Equal(0b00010, c.SupportedAdjustedGuestAddressWidths);        // 0x02 -> 3-level only
        Assert.True(c.SupportsLevels(3) && !c.SupportsLevels(4) && !c.SupportsLevels(5));
        Assert.Equal(39, c.MaximumGuestAddressWidth);
        Assert.Equal(0x20, c.FaultRecordingRegisterOffset);                  // 0x20 | (0x80 & 3) << 8
        Assert.Equal(0, c.SecondLevelLargePageSupport);                      // (0x80 >> 2) & 0xf = 0
        Assert.Equal(PageSizes.Size4K, c.SecondLevelPageSizes);
        Assert.True(c.PageSelectiveInvalidation);                            // 0x80 bit 7
        Assert.Equal(1, c.NumberOfFaultRecordingRegisters);
        Assert.Equal(9, c.MaximumAddressMaskValue);                          // 0xc9 & 0x3f = 9
        // ecap f010da: as f050da but IRO = 0x10.
        var e = ExtendedCapabilityRegister.Decode(SnbEcap);
        Assert.Equal(0x10, e.IotlbRegisterOffset);
        Assert.True(e.PassThrough && !e.DeviceTlb && !e.ScalableMode);
        Assert.Equal(c, UnitPresets.LegacyCapability);
        Assert.Equal(e, UnitPresets.LegacyExtendedCapability);
        Assert.Equal(SnbCap, UnitPresets.LegacyCapability.Encode());
        Assert.Equal(SnbEcap, UnitPresets.LegacyExtendedCapability.Encode());
    }

    [Theory]
    [InlineData(SprCap, SprEcap)]
    [InlineData(GfxCap, GfxEcap)]
    [InlineData(ClientCap, ClientEcap)]
    [InlineData(SnbCap, SnbEcap)]
    [InlineData(CapReserved, EcapReserved)]
    [InlineData(ulong.MaxValue, ulong.MaxValue)]
    [InlineData(0UL, 0UL)]
    public void RealAndEdgeImages_RoundTrip(ulong cap, ulong ecap)
    {
        Assert.Equal(cap, CapabilityRegister.Decode(cap).Encode());
        Assert.Equal(ecap, ExtendedCapabilityRegister.Decode(ecap).Encode());
        Assert.Equal(cap & CapReserved, CapabilityRegister.Decode(cap).OtherBits);
        Assert.Equal(ecap & EcapReserved, ExtendedCapabilityRegister.Decode(ecap).OtherBits);
    }

    [Fact]
    public void RandomImages_RoundTrip_AndMatchHandShifts()
    {
        var random = new Random(0x5EED);
        var buffer = new byte[8];
        for (int i = 0; i < 4000; i++)
        {
            random.NextBytes(buffer);
            ulong x = BitConverter.ToUInt64(buffer);
            var c = CapabilityRegister.Decode(x);
            var e = ExtendedCapabilityRegister.Decode(x);
            Assert.Equal(x, c.Encode());
            Assert.Equal(x, e.Encode());
            Assert.Equal(c, CapabilityRegister.Decode(c.Encode()));
            Assert.Equal(x & CapReserved, c.OtherBits);
            Assert.Equal(x & EcapReserved, e.OtherBits);
            Assert.Equal((int)(x & 7), c.NumberOfDomainsField);
            Assert.Equal((int)((x >> 16) & 0x3F) + 1, c.MaximumGuestAddressWidth);
            Assert.Equal((int)((x >> 40) & 0xFF) + 1, c.NumberOfFaultRecordingRegisters);
            Assert.Equal((x >> 63) != 0, c.EnhancedSetRootTablePointer);
            Assert.Equal((int)((x >> 8) & 0x3FF), e.IotlbRegisterOffset);
            Assert.Equal((int)((x >> 35) & 0x1F) + 1, e.PasidWidth);
            Assert.Equal(((x >> 49) & 1) != 0, e.RidPasid);
        }
    }

    [Fact]
    public void Encode_FieldExtremesThatFit_GiveHandValues()
    {
        var zero = CapabilityRegister.Decode(0);                            // MGAW 1, NFR 1: all-zero fields
        Assert.Equal(0x3F_0000UL, (zero with { MaximumGuestAddressWidth = 64 }).Encode());        // 63 << 16
        Assert.Equal(0xFF00_0000_0000UL, (zero with { NumberOfFaultRecordingRegisters = 256 }).Encode()); // 255 << 40
        Assert.Equal(0x2000UL, (zero with { OtherBits = 1UL << 13 }).Encode());                   // reserved bit 13
        var ezero = ExtendedCapabilityRegister.Decode(0);                    // PASID width 1
        Assert.Equal(0xF8_0000_0000UL, (ezero with { PasidWidth = 32 }).Encode());                 // 31 << 35
        Assert.Equal(0x20UL, (ezero with { OtherBits = 1UL << 5 }).Encode());                      // reserved bit 5
    }

    [Theory]
    [InlineData("CAP_REG.ND", 8)]
    [InlineData("CAP_REG.ND", -1)]
    [InlineData("CAP_REG.SAGAW", 32)]
    [InlineData("CAP_REG.MGAW", 0)]
    [InlineData("CAP_REG.MGAW", 65)]
    [InlineData("CAP_REG.FRO", 1024)]
    [InlineData("CAP_REG.SLLPS", 16)]
    [InlineData("CAP_REG.NFR", 0)]
    [InlineData("CAP_REG.NFR", 257)]
    [InlineData("CAP_REG.MAMV", 64)]
    public void CapEncode_FieldTooWide_IsEinvalNamingTheField(string field, int v)
    {
        var c = CapabilityRegister.Decode(SprCap);
        c = field switch
        {
            "CAP_REG.ND" => c with { NumberOfDomainsField = v },
            "CAP_REG.SAGAW" => c with { SupportedAdjustedGuestAddressWidths = v },
            "CAP_REG.MGAW" => c with { MaximumGuestAddressWidth = v },
            "CAP_REG.FRO" => c with { FaultRecordingRegisterOffset = v },
            "CAP_REG.SLLPS" => c with { SecondLevelLargePageSupport = v },
            "CAP_REG.NFR" => c with { NumberOfFaultRecordingRegisters = v },
            _ => c with { MaximumAddressMaskValue = v },
        };
        AssertEinval(field, () => c.Encode());
    }

    [Theory]
    [InlineData("ECAP_REG.IRO", 1024)]
    [InlineData("ECAP_REG.IRO", -1)]
    [InlineData("ECAP_REG.MHMV", 16)]
    [InlineData("ECAP_REG.PSS", 0)]
    [InlineData("ECAP_REG.PSS", 33)]
    public void EcapEncode_FieldTooWide_IsEinvalNamingTheField(string field, int value)
    {
        var e = ExtendedCapabilityRegister.Decode(SprEcap);
        e = field switch
        {
            "ECAP_REG.IRO" => e with { IotlbRegisterOffset = value },
            "ECAP_REG.MHMV" => e with { MaximumHandleMaskValue = value },
            _ => e with { PasidWidth = value },
        };
        AssertEinval(field, () => e.Encode());
    }

    [Theory]
    [InlineData(1UL << 0, 1UL << 0)]      // ND; C
    [InlineData(1UL << 12, 1UL << 20)]    // SAGAW bit 4; MHMV
    [InlineData(1UL << 39, 1UL << 40)]    // PSI; PASID
    [InlineData(1UL << 63, 1UL << 53)]    // ESRTPS; RPRIVS
    public void Encode_OtherBitsOverlapField_IsEinval(ulong capBit, ulong ecapBit)
    {
        AssertEinval("CAP_REG OtherBits", () => (CapabilityRegister.Decode(0) with { OtherBits = capBit | CapReserved }).Encode());
        AssertEinval("ECAP_REG OtherBits", () => (ExtendedCapabilityRegister.Decode(0) with { OtherBits = ecapBit | EcapReserved }).Encode());
    }

    [Fact]
    public void ScalablePreset_EncodesToHandValue_MatchingItsDoc()
    {
        // ND 6 = 0x06; SAGAW 0b01110 = 0x0e; MGAW 57 -> 0x38; FRO 0x40; byte 4 = SLLPS 3 << 2 | PSI 0x80 = 0x8c;
        // NFR 8 -> 0x07; MAMV 45 | DWD | DRD = 0xed; byte 7 = FL1GP 0x01 | FL5LP 0x10 (no posted interrupts).
        ulong cap = UnitPresets.ScalableCapability.Encode();
        Assert.Equal(0x11ed_078c_4038_0e06UL, cap);
        // Against the Sapphire Rapids image: SAGAW bit 1 (3-level) and NFR (8 records) added; PLMR, PHMR, ZLR and PI
        // taken out (nothing models them).
        Assert.Equal(0x0800_0700_0040_0260UL, cap ^ SprCap);
        var c = CapabilityRegister.Decode(cap);
        Assert.Equal(65536, c.NumberOfDomains);
        Assert.True(c.SupportsLevels(3) && c.SupportsLevels(4) && c.SupportsLevels(5));
        Assert.Equal(57, c.MaximumGuestAddressWidth);
        Assert.Equal(AllSizes, c.SecondLevelPageSizes);
        Assert.True(c.PageSelectiveInvalidation);
        Assert.Equal(8, c.NumberOfFaultRecordingRegisters);

        // byte 0 = C | QI | DT | PT = 0x47; IRO 0x50; byte 3 = NEST 0x04 | PRS 0x20 | SRS 0x80 = 0xa4; byte 4 = PSS 19 << 3 = 0x98;
        // byte 5 = PASID 0x01 | SMTS 0x08 | SLADS 0x20 | SLTS 0x40 | FLTS 0x80 = 0xe9; byte 6 = SMPWCS | RPS = 0x03. No IR,
        // EIM, SC, MHMV, ERS, NWFS, EAFS, DIT, PDS.
        ulong ecap = UnitPresets.ScalableExtendedCapability.Encode();
        Assert.Equal(0x0003_e998_a400_5047UL, ecap);
        var e = ExtendedCapabilityRegister.Decode(ecap);
        Assert.True(e.PassThrough && e.DeviceTlb && e.Pasid && e.RidPasid && e.ScalableMode && e.SecondLevelTranslation);
        Assert.True(e.FirstLevelTranslation && e.SupervisorRequest);
        Assert.False(e.ExecuteRequest);
        Assert.True(e.NestedTranslation);
        Assert.Equal(20, e.PasidWidth);
    }

    [Fact]
    public void RootEntry_Legacy_IsPointerOrPresent()
    {
        Assert.Equal(new RootEntry(0x1234_5001, 0), RootEntry.Legacy(0x1234_5000));
        Assert.Equal(new RootEntry(0x000F_FFFF_FFFF_F001, 0), RootEntry.Legacy(0x000F_FFFF_FFFF_FFFF)); // 11:0 dropped
        Assert.Equal(0x77UL, new RootEntry(0x55, 0x77).Half(upper: true));
    }

    [Fact]
    public void ContextEntry_Create_GivesHandWords_AndGettersReadThem()
    {
        // Low = 0xab_cdef_1000 | TT 1 << 2 (0x4) | FPD 0x2 | P 0x1 = 0xab_cdef_1007; High = DID 0x1234 << 8 | AW 2.
        var e = ContextEntry.Create(1, 0xAB_CDEF_1000, 2, 0x1234, faultProcessingDisable: true);
        Assert.Equal(new ContextEntry(0xAB_CDEF_1007, 0x12_3402), e);
        Assert.True(e.IsPresent && e.FaultProcessingDisable);
        Assert.Equal((1, 0xAB_CDEF_1000UL, 2, (ushort)0x1234), (e.TranslationType, e.SecondLevelRoot, e.AddressWidth, e.DomainId));
        // Pass-through: Low = TT 2 << 2 | P = 0x9; High = 0xffff << 8 | AW 1 = 0xff_ff01.
        var pt = ContextEntry.Create(2, 0, 1, 0xFFFF);
        Assert.Equal(new ContextEntry(0x9, 0xFF_FF01), pt);
        Assert.Equal((2, false, (ushort)0xFFFF, 1), (pt.TranslationType, pt.FaultProcessingDisable, pt.DomainId, pt.AddressWidth));
    }

    [Fact]
    public void ScalableContextEntry_Create_GivesHandWords_AndGettersReadThem()
    {
        // Q0 = 0x8_0000_3000 | PDTS 7 << 9 (0xe00) | PASIDE 0x8 | DTE 0x4 | P 0x1 = 0x8_0000_3e0d; Q1 = RID_PASID 0x12345.
        var e = ScalableContextEntry.Create(0x8_0000_3000, 7, 0x12345, deviceTlb: true, pasidEnable: true);
        Assert.Equal(new ScalableContextEntry(0x8_0000_3E0D, 0x12345), e);
        Assert.True(e.IsPresent && e.DeviceTlbEnable && e.PasidEnable && !e.FaultProcessingDisable);
        Assert.Equal((7, 0x8_0000_3000UL, 0x12345U), (e.PasidDirectorySize, e.PasidDirectory, e.RidPasid));
        // FPD only: Q0 = 0x5000 | 0x2 | 0x1 = 0x5003.
        var f = ScalableContextEntry.Create(0x5000, 0, 0, deviceTlb: false, pasidEnable: false, faultProcessingDisable: true);
        Assert.Equal(new ScalableContextEntry(0x5003, 0), f);
        Assert.True(f.FaultProcessingDisable && !f.DeviceTlbEnable && !f.PasidEnable);
    }

    [Fact]
    public void PasidDirectoryEntry_Create_IsPointerOrPresent()
    {
        Assert.Equal(0x7654_3001UL, PasidDirectoryEntry.Create(0x7654_3000).Value);
        Assert.Equal(0x7654_3001UL, PasidDirectoryEntry.Create(0x7654_3FFF).Value); // bits 11:0 dropped
        var d = new PasidDirectoryEntry(0x9_0000_1003);
        Assert.True(d.IsPresent && d.FaultProcessingDisable);
        Assert.Equal(0x9_0000_1000UL, d.PasidTable);
    }

    [Fact]
    public void PasidEntry_Factories_GiveHandWords_AndGettersReadThem()
    {
        // Q0 = 0x1_2345_6000 | PGTT 2 << 6 (0x80) | AW 3 << 2 (0xc) | FPD 0x2 | P 0x1 = 0x1_2345_608f; Q1 = DID 0xbeef.
        var sl = PasidEntry.SecondLevel(0x1_2345_6000, 3, 0xBEEF, faultProcessingDisable: true);
        Assert.Equal(new PasidEntry(0x1_2345_608F, 0xBEEF), sl);
        Assert.True(sl.IsPresent && sl.FaultProcessingDisable);
        Assert.Equal(PasidTranslationType.SecondLevel, sl.TranslationType);
        Assert.Equal((3, 0x1_2345_6000UL, (ushort)0xBEEF), (sl.AddressWidth, sl.SecondLevelRoot, sl.DomainId));
        // Q0 = PGTT 4 << 6 (0x100) | AW 2 << 2 (0x8) | P = 0x109; Q1 = 7.
        var pt = PasidEntry.PassThrough(2, 7);
        Assert.Equal(new PasidEntry(0x109, 7), pt);
        Assert.Equal(PasidTranslationType.PassThrough, pt.TranslationType);
        Assert.Equal((2, 0UL, (ushort)7, false), (pt.AddressWidth, pt.SecondLevelRoot, pt.DomainId, pt.FaultProcessingDisable));
    }

    private static void AssertEinval(string field, Func<ulong> encode)
    {
        var e = Assert.Throws<IommuException>(() => encode());
        Assert.Equal(Errno.EINVAL, e.Code);
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
    }
}
