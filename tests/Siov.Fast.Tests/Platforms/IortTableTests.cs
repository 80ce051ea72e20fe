using System.Buffers.Binary;
using System.Text;
using Siov.Fast.Platforms;

namespace Siov.Fast.Tests.Platforms;

/// <summary>
/// IORT tables written byte by byte from ARM DEN 0049E.e at hand-computed offsets (no real IORT table or iasl is
/// at hand), decoded field by field and walked RID to SMMUv3 StreamID and ITS DeviceID, with the results worked
/// out by hand; then damaged copies, which must give an EINVAL naming the offset.
/// </summary>
public class IortTableTests
{
    /// <summary>A little-endian byte image, written at explicit offsets, with the ACPI checksum fixed at the end.</summary>
    private sealed class Image(int length)
    {
        public byte[] Bytes { get; } = new byte[length];

        public Image U8(int at, int value) { Bytes[at] = checked((byte)value); return this; }

        public Image U16(int at, int value) { BinaryPrimitives.WriteUInt16LittleEndian(Bytes.AsSpan(at), checked((ushort)value)); return this; }

        public Image U32(int at, uint value) { BinaryPrimitives.WriteUInt32LittleEndian(Bytes.AsSpan(at), value); return this; }

        public Image U64(int at, ulong value) { BinaryPrimitives.WriteUInt64LittleEndian(Bytes.AsSpan(at), value); return this; }

        public Image Text(int at, string text) { Encoding.ASCII.GetBytes(text).CopyTo(Bytes, at); return this; }

        /// <summary>The ACPI header (signature, length, revision, OEM ids) and the IORT fields at 36 and 40.</summary>
        public Image Header(int revision, string oemId, string oemTableId, uint nodeCount, uint nodeArrayOffset) =>
            Text(0, "IORT").U32(4, (uint)Bytes.Length).U8(8, revision).Text(10, oemId).Text(16, oemTableId).U32(24, 1)
                .Text(28, "SIOV").U32(32, 0x20260101).U32(36, nodeCount).U32(40, nodeArrayOffset);

        /// <summary>A node's 16-byte header: Type 0, Length 1, Revision 3, Identifier 4, mapping count 8, ID array 12.</summary>
        public Image Node(int at, int type, int length, int revision, uint identifier, uint mappings, uint mappingOffset) =>
            U8(at, type).U16(at + 1, length).U8(at + 3, revision).U32(at + 4, identifier).U32(at + 8, mappings).U32(at + 12, mappingOffset);

        /// <summary>A 20-byte ID mapping: input base 0, number of IDs (minus one) 4, output base 8, output reference 12, flags 16.</summary>
        public Image Map(int at, uint inputBase, uint idsMinusOne, uint outputBase, uint outputReference, uint flags) =>
            U32(at, inputBase).U32(at + 4, idsMinusOne).U32(at + 8, outputBase).U32(at + 12, outputReference).U32(at + 16, flags);

        public byte[] Table()
        {
            FixChecksum(Bytes);
            return Bytes;
        }
    }

    private static void FixChecksum(byte[] bytes)
    {
        bytes[9] = 0;
        byte sum = 0;
        foreach (byte b in bytes)
            sum += b;
        bytes[9] = (byte)-sum;
    }

    /// <summary>
    /// A QEMU <c>virt</c> machine with <c>iommu=smmuv3</c> (QEMU's build_iort before 10.2): one ITS group, one
    /// SMMUv3 at 0x09050000 whose StreamIDs 0-0xffff go to the ITS, one root complex of segment 0 whose RIDs
    /// 0-0xffff go to the SMMU as StreamIDs 0-0xffff. 216 bytes.
    /// </summary>
    internal static byte[] QemuVirt()
    {
        var t = new Image(216).Header(3, "BOCHS ", "BXPC    ", nodeCount: 3, nodeArrayOffset: 0x30);
        // 0x30: ITS group, 24 bytes: one ITS, identifier 0.
        t.Node(0x30, type: 0, length: 24, revision: 1, identifier: 0, mappings: 0, mappingOffset: 0).U32(0x40, 1).U32(0x44, 0);
        // 0x48: SMMUv3, 68 + 20 bytes, its ID array at node offset 68 (0x8c).
        t.Node(0x48, type: 4, length: 88, revision: 4, identifier: 1, mappings: 1, mappingOffset: 68)
            .U64(0x58, 0x09050000).U32(0x60, 1) // base; flags: COHACC override
            .U64(0x68, 0).U32(0x70, 0) // VATOS, model generic
            .U32(0x74, 0x6a).U32(0x78, 0x6b).U32(0x7c, 0x6d).U32(0x80, 0x6c) // event, PRI, GERR, sync GSIVs
            .U32(0x84, 0).U32(0x88, 0) // proximity domain, DeviceID mapping index
            .Map(0x8c, inputBase: 0, idsMinusOne: 0xffff, outputBase: 0, outputReference: 0x30, flags: 0);
        // 0xa0: root complex, 36 + 20 bytes, ID array at node offset 36 (0xc4).
        t.Node(0xa0, type: 2, length: 56, revision: 3, identifier: 2, mappings: 1, mappingOffset: 36)
            .U32(0xb0, 1).U8(0xb4, 0).U8(0xb7, 3) // memory access: CCA 1, hints 0, flags CPM | DACS
            .U32(0xb8, 0).U32(0xbc, 0).U8(0xc0, 0x40) // ATS attribute, segment 0, 64 address bits
            .Map(0xc4, inputBase: 0, idsMinusOne: 0xffff, outputBase: 0, outputReference: 0x48, flags: 0);
        return t.Table();
    }

    // Offsets of the nodes of the second table, worked out by hand (see Mixed).
    private const int Its = 48, SmmuA = 76, SmmuB = 184, Rc0 = 272, Rc1 = 352, Eth0 = 408, Pmcg = 488, Rmr = 548, SmmuV2 = 636, Unknown = 660, MixedLength = 676;

    /// <summary>
    /// An IORT revision 6 table with every decoded node type: one ITS group with two ITSs; SMMUv3 A (revision 5,
    /// all interrupts MSIs, DeviceID mapping index 1 valid) and B (revision 5, wired interrupts); root complex 0
    /// (revision 4, PASID) sending bus 0 to A and bus 1 to B at StreamID 0x8000 (an RID offset); root complex 1
    /// (revision 3) sending RIDs 0-0xfff to A at StreamID 0x10000; a named component \_SB_.ETH0 with StreamID 0x40
    /// on A; a PMCG of A; an RMR for StreamIDs 0x40-0x41 on A; then an SMMUv2 node and a node of unknown type 0x42.
    /// </summary>
    private static Image Mixed()
    {
        var t = new Image(MixedLength).Header(6, "LINARO", "SIOVIORT", nodeCount: 10, nodeArrayOffset: 48);
        // 48: ITS group, 20 + 2 * 4 = 28 bytes.
        t.Node(48, type: 0, length: 28, revision: 1, identifier: 10, mappings: 0, mappingOffset: 0).U32(64, 2).U32(68, 0x10).U32(72, 0x11);
        // 76: SMMUv3 A, 68 + 2 * 20 = 108 bytes, ID array at node offset 68 (144).
        t.Node(76, type: 4, length: 108, revision: 5, identifier: 11, mappings: 2, mappingOffset: 68)
            .U64(92, 0x2b400000).U32(100, 0x1d) // base; flags COHACC | HTTU 2 | PXM valid | DeviceID valid = 1 + 4 + 8 + 16
            .U64(108, 0x2b500000).U32(116, 0) // VATOS, model
            .U32(120, 0).U32(124, 0).U32(128, 0).U32(132, 0) // event, PRI, GERR, sync: all MSIs
            .U32(136, 1).U32(140, 1) // proximity domain 1, DeviceID mapping index 1
            .Map(144, inputBase: 0, idsMinusOne: 0xffff, outputBase: 0x10000, outputReference: 48, flags: 0)
            .Map(164, inputBase: 0, idsMinusOne: 0, outputBase: 0x20000, outputReference: 48, flags: 1); // its own MSI
        // 184: SMMUv3 B, 68 + 20 = 88 bytes, ID array at node offset 68 (252).
        t.Node(184, type: 4, length: 88, revision: 5, identifier: 12, mappings: 1, mappingOffset: 68)
            .U64(200, 0x2b600000).U32(208, 0) // base; no flags (so no DeviceID mapping index)
            .U64(216, 0).U32(224, 0x2)
            .U32(228, 0x100).U32(232, 0x101).U32(236, 0x102).U32(240, 0x103)
            .U32(244, 0).U32(248, 0)
            .Map(252, inputBase: 0, idsMinusOne: 0xffff, outputBase: 0x30000, outputReference: 48, flags: 0);
        // 272: root complex 0, revision 4 with flags: 40 + 2 * 20 = 80 bytes, ID array at node offset 40 (312).
        t.Node(272, type: 2, length: 80, revision: 4, identifier: 13, mappings: 2, mappingOffset: 40)
            .U32(288, 1).U8(292, 0x0a).U8(295, 3) // CCA 1, hints write-allocate | override, flags CPM | DACS
            .U32(296, 7).U32(300, 0).U8(304, 48) // ATS | PRI | PASID forwarding, segment 0, 48 address bits
            .U16(305, 0x14).U8(307, 0).U32(308, 1) // PASID capabilities: 20 bits; reserved; flags: PASID supported
            .Map(312, inputBase: 0x0000, idsMinusOne: 0xff, outputBase: 0x0000, outputReference: SmmuA, flags: 0)
            .Map(332, inputBase: 0x0100, idsMinusOne: 0xff, outputBase: 0x8000, outputReference: SmmuB, flags: 0);
        // 352: root complex 1, revision 3: 36 + 20 = 56 bytes, ID array at node offset 36 (388).
        t.Node(352, type: 2, length: 56, revision: 3, identifier: 14, mappings: 1, mappingOffset: 36)
            .U32(368, 0).U8(375, 0)
            .U32(376, 0).U32(380, 1).U8(384, 44)
            .U16(385, 0x1f1f) // reserved before revision 4: must not be read as PASID capabilities
            .Map(388, inputBase: 0, idsMinusOne: 0xfff, outputBase: 0x10000, outputReference: SmmuA, flags: 0);
        // 408: named component, 29 + "\_SB_.ETH0\0" (11) = 40, + 2 * 20 = 80 bytes, ID array at node offset 40 (448).
        t.Node(408, type: 1, length: 80, revision: 4, identifier: 15, mappings: 2, mappingOffset: 40)
            .U32(424, 0x15) // stall | substream width 10 << 1
            .U32(428, 1).U8(432, 0).U8(435, 1) // CCA 1, hints 0, flags CPM
            .U8(436, 0x30).Text(437, "\\_SB_.ETH0").U8(447, 0)
            .Map(448, inputBase: 0, idsMinusOne: 0, outputBase: 0x40, outputReference: SmmuA, flags: 1)
            .Map(468, inputBase: 0, idsMinusOne: 0, outputBase: 0x41, outputReference: SmmuA, flags: 0); // not single
        // 488: PMCG of SMMU A, revision 1: 40 + 20 = 60 bytes, ID array at node offset 40 (528).
        t.Node(488, type: 5, length: 60, revision: 1, identifier: 16, mappings: 1, mappingOffset: 40)
            .U64(504, 0x2b420000).U32(512, 0).U32(516, SmmuA).U64(520, 0x2b430000)
            .Map(528, inputBase: 0, idsMinusOne: 0, outputBase: 0x50000, outputReference: 48, flags: 1);
        // 548: RMR, 28 + 20 (ID mapping at node offset 28 = 576) + 2 * 20 (ranges at node offset 48 = 596) = 88 bytes.
        t.Node(548, type: 6, length: 88, revision: 3, identifier: 17, mappings: 1, mappingOffset: 28)
            .U32(564, 0x15).U32(568, 2).U32(572, 48) // remapping permitted | attributes 5 << 2; 2 ranges at 48
            .Map(576, inputBase: 0, idsMinusOne: 1, outputBase: 0x40, outputReference: SmmuA, flags: 0)
            .U64(596, 0x80000000).U64(604, 0x10000).U64(616, 0x80100000).U64(624, 0x200000);
        // 636: SMMUv1/v2, skipped: 24 bytes. 660: type 0x42, unknown, skipped: 16 bytes. End at 676.
        t.Node(636, type: 3, length: 24, revision: 0, identifier: 18, mappings: 0, mappingOffset: 0);
        t.Node(660, type: 0x42, length: 16, revision: 0, identifier: 19, mappings: 0, mappingOffset: 0);
        return t;
    }

    /// <summary>The bytes of <see cref="Mixed"/>, checksum fixed.</summary>
    internal static byte[] MixedTable() => Mixed().Table();

    private static byte[] Patched(Action<Image> patch)
    {
        Image t = Mixed();
        patch(t);
        return t.Table();
    }

    private static IommuException Rejects(byte[] table, int offset)
    {
        var e = Assert.Throws<IommuException>(() => IortTable.Parse(table));
        Assert.Equal(Errno.EINVAL, e.Code);
        Assert.Contains($"offset {offset}", e.Message, StringComparison.Ordinal);
        return e;
    }

    [Fact]
    public void Parse_QemuVirt_DecodesEveryField()
    {
        IortTable t = IortTable.Parse(QemuVirt());

        Assert.Equal("IORT", t.Header.Signature);
        Assert.Equal(216u, t.Header.Length);
        Assert.Equal(3, t.Header.Revision);
        Assert.Equal("BOCHS ", t.Header.OemId);
        Assert.Equal(3u, t.NodeCount);
        Assert.Equal(0x30u, t.NodeArrayOffset);
        Assert.Equal([0x30, 0x48, 0xa0], t.Nodes.Select(n => n.Offset));
        Assert.Equal([0, 4, 2], t.Nodes.Select(n => (int)n.Type));
        Assert.Empty(t.Skipped);

        IortItsGroup its = Assert.Single(t.ItsGroups);
        Assert.Equal((24, 1, 0u), (its.Length, (int)its.Revision, its.Identifier));
        Assert.Equal([0u], its.ItsIdentifiers.AsEnumerable());
        Assert.Empty(its.IdMappings);

        IortSmmuV3 smmu = Assert.Single(t.SmmuV3Nodes);
        Assert.Equal((0x48, 88, 4, 1u), (smmu.Offset, smmu.Length, (int)smmu.Revision, smmu.Identifier));
        Assert.Equal(0x09050000ul, smmu.BaseAddress);
        Assert.Equal(1u, smmu.Flags);
        Assert.True(smmu.CoherentAccessOverride);
        Assert.Equal(0, smmu.HttuOverride);
        Assert.False(smmu.ProximityDomainValid);
        Assert.False(smmu.DeviceIdMappingIndexValid);
        Assert.Equal((0ul, 0u), (smmu.VatosAddress, smmu.Model));
        Assert.Equal((0x6au, 0x6bu, 0x6du, 0x6cu), (smmu.EventGsiv, smmu.PriGsiv, smmu.GerrGsiv, smmu.SyncGsiv));
        Assert.Equal((0u, 0u), (smmu.ProximityDomain, smmu.DeviceIdMappingIndex));
        IortIdMapping toIts = Assert.Single(smmu.IdMappings);
        Assert.Equal(new IortIdMapping(0x8c, 0, 0xffff, 0, 0x30, 0), toIts);
        Assert.Equal(0x10000ul, toIts.IdCount); // "Number of IDs" is the count minus one
        Assert.Equal(0xfffful, toIts.InputLast);
        Assert.False(toIts.SingleMapping);

        IortRootComplex rc = Assert.Single(t.RootComplexes);
        Assert.Equal((0xa0, 56, 3, 2u), (rc.Offset, rc.Length, (int)rc.Revision, rc.Identifier));
        Assert.Equal(new IortMemoryAccess(1, 0, 3), rc.MemoryAccess);
        Assert.True(rc.MemoryAccess.CacheCoherent);
        Assert.True(rc.MemoryAccess.CoherentPathToMemory);
        Assert.True(rc.MemoryAccess.DeviceAttributesCacheableShareable);
        Assert.Equal((0u, 0u, 0x40), (rc.AtsAttribute, rc.PciSegmentNumber, (int)rc.AddressSizeLimit));
        Assert.False(rc.AtsSupported);
        Assert.Equal((0, 0u), ((int)rc.PasidCapabilities, rc.Flags));
        Assert.Equal(new IortIdMapping(0xc4, 0, 0xffff, 0, 0x48, 0), Assert.Single(rc.IdMappings));

        Assert.Same(smmu, t.NodeAt(0x48));
        Assert.Null(t.NodeAt(0x49));
    }

    [Theory]
    [InlineData(0x0000u)]
    [InlineData(0x0008u)] // 00:01.0
    [InlineData(0x0100u)] // 01:00.0
    [InlineData(0xfffeu)]
    [InlineData(0xffffu)]
    public void MapRequesterId_QemuVirt_IdentityOnTheSmmu(uint rid)
    {
        IortTable t = IortTable.Parse(QemuVirt());

        IortStreamMapping? stream = t.MapRequesterId(0, rid);
        Assert.NotNull(stream);
        Assert.Equal(0x09050000ul, stream.Smmu.BaseAddress);
        Assert.Equal(rid, stream.StreamId);

        // On to the ITS: the SMMU's StreamIDs 0-0xffff are DeviceIDs 0-0xffff (all interrupts wired, so no MSI mapping skipped).
        IortDeviceIdMapping? msi = t.MapRequesterIdToIts(0, rid);
        Assert.NotNull(msi);
        Assert.Equal(0x30, msi.ItsGroup.Offset);
        Assert.Equal(rid, msi.DeviceId);
    }

    [Fact]
    public void MapRequesterId_QemuVirt_NoMappingIsNull()
    {
        IortTable t = IortTable.Parse(QemuVirt());

        Assert.Null(t.MapRequesterId(0, 0x10000)); // past 0 + 0xffff
        Assert.Null(t.MapRequesterId(1, 0x0008)); // no root complex of segment 1
        Assert.Null(t.MapRequesterIdToIts(1, 0x0008));
        Assert.Null(t.MapNamedComponent("\\_SB_.ETH0", 0)); // no named component
    }

    [Fact]
    public void Parse_Mixed_DecodesEveryNodeType()
    {
        IortTable t = IortTable.Parse(Mixed().Table());

        Assert.Equal(6, t.Header.Revision);
        Assert.Equal(10u, t.NodeCount);
        Assert.Equal([Its, SmmuA, SmmuB, Rc0, Rc1, Eth0, Pmcg, Rmr], t.Nodes.Select(n => n.Offset));
        Assert.Equal([10u, 11u, 12u, 13u, 14u, 15u, 16u, 17u], t.Nodes.Select(n => n.Identifier));
        Assert.Equal([new SkippedSubtable(3, SmmuV2, 24), new SkippedSubtable(0x42, Unknown, 16)], t.Skipped.AsEnumerable());
        Assert.Null(t.NodeAt(SmmuV2));

        Assert.Equal([0x10u, 0x11u], Assert.Single(t.ItsGroups).ItsIdentifiers.AsEnumerable());

        Assert.Equal(2, t.SmmuV3Nodes.Length);
        IortSmmuV3 a = t.SmmuV3Nodes[0], b = t.SmmuV3Nodes[1];
        Assert.Equal((0x2b400000ul, 0x1du, 0x2b500000ul), (a.BaseAddress, a.Flags, a.VatosAddress));
        Assert.True(a.CoherentAccessOverride);
        Assert.Equal(2, a.HttuOverride);
        Assert.True(a.ProximityDomainValid);
        Assert.True(a.DeviceIdMappingIndexValid);
        Assert.Equal((0u, 0u, 0u, 0u), (a.EventGsiv, a.PriGsiv, a.GerrGsiv, a.SyncGsiv));
        Assert.Equal((1u, 1u), (a.ProximityDomain, a.DeviceIdMappingIndex));
        Assert.Equal([new IortIdMapping(144, 0, 0xffff, 0x10000, 48, 0), new IortIdMapping(164, 0, 0, 0x20000, 48, 1)], a.IdMappings.AsEnumerable());
        Assert.True(a.IdMappings[1].SingleMapping);
        Assert.Equal((0x2b600000ul, 0u, 2u), (b.BaseAddress, b.Flags, b.Model));
        Assert.Equal((0x100u, 0x101u, 0x102u, 0x103u), (b.EventGsiv, b.PriGsiv, b.GerrGsiv, b.SyncGsiv));

        Assert.Equal(2, t.RootComplexes.Length);
        IortRootComplex rc0 = t.RootComplexes[0], rc1 = t.RootComplexes[1];
        Assert.Equal(new IortMemoryAccess(1, 0x0a, 3), rc0.MemoryAccess);
        Assert.Equal((7u, 0u, 48), (rc0.AtsAttribute, rc0.PciSegmentNumber, (int)rc0.AddressSizeLimit));
        Assert.True(rc0.AtsSupported && rc0.PriSupported && rc0.PasidForwardingSupported);
        Assert.Equal((0x14, 20, 1u), ((int)rc0.PasidCapabilities, rc0.MaxPasidWidth, rc0.Flags));
        Assert.True(rc0.PasidSupported);
        Assert.Equal([new IortIdMapping(312, 0, 0xff, 0, SmmuA, 0), new IortIdMapping(332, 0x100, 0xff, 0x8000, SmmuB, 0)], rc0.IdMappings.AsEnumerable());
        Assert.Equal(new IortMemoryAccess(0, 0, 0), rc1.MemoryAccess);
        Assert.False(rc1.MemoryAccess.CacheCoherent);
        Assert.Equal((1u, 44), (rc1.PciSegmentNumber, (int)rc1.AddressSizeLimit));
        Assert.Equal((0, 0, 0u), ((int)rc1.PasidCapabilities, rc1.MaxPasidWidth, rc1.Flags)); // revision 3: reserved bytes ignored

        IortNamedComponent nc = Assert.Single(t.NamedComponents);
        Assert.Equal("\\_SB_.ETH0", nc.ObjectName);
        Assert.Equal((0x15u, 0x30), (nc.NodeFlags, (int)nc.AddressSizeLimit));
        Assert.True(nc.StallSupported);
        Assert.Equal(10, nc.SubstreamWidth);
        Assert.Equal(new IortMemoryAccess(1, 0, 1), nc.MemoryAccess);
        Assert.Equal([new IortIdMapping(448, 0, 0, 0x40, SmmuA, 1), new IortIdMapping(468, 0, 0, 0x41, SmmuA, 0)], nc.IdMappings.AsEnumerable());

        IortPmcg pmcg = Assert.Single(t.PmcgNodes);
        Assert.Equal((0x2b420000ul, 0u, (uint)SmmuA, (ulong?)0x2b430000ul), (pmcg.Page0BaseAddress, pmcg.OverflowGsiv, pmcg.NodeReference, pmcg.Page1BaseAddress));
        Assert.Equal(new IortIdMapping(528, 0, 0, 0x50000, 48, 1), Assert.Single(pmcg.IdMappings));

        IortRmr rmr = Assert.Single(t.RmrNodes);
        Assert.Equal(0x15u, rmr.Flags);
        Assert.True(rmr.RemappingPermitted);
        Assert.False(rmr.AccessPrivileged);
        Assert.Equal(5, rmr.AccessAttributes);
        Assert.Equal([new IortMemoryRange(596, 0x80000000, 0x10000), new IortMemoryRange(616, 0x80100000, 0x200000)], rmr.MemoryRanges.AsEnumerable());
        IortIdMapping rmrIds = Assert.Single(rmr.IdMappings);
        Assert.Equal(new IortIdMapping(576, 0, 1, 0x40, SmmuA, 0), rmrIds);
        Assert.Equal(2ul, rmrIds.IdCount); // StreamIDs 0x40 and 0x41
    }

    [Theory]
    // Segment 0, bus 0 -> SMMU A, StreamID = RID.
    [InlineData(0, 0x0000u, SmmuA, 0x0000u)]
    [InlineData(0, 0x0010u, SmmuA, 0x0010u)]
    [InlineData(0, 0x00ffu, SmmuA, 0x00ffu)] // last ID of the range, no range starts at 0xff: it stays
    // Segment 0, bus 1 -> SMMU B, StreamID = RID - 0x100 + 0x8000.
    [InlineData(0, 0x0100u, SmmuB, 0x8000u)]
    [InlineData(0, 0x0123u, SmmuB, 0x8023u)]
    [InlineData(0, 0x01ffu, SmmuB, 0x80ffu)]
    // Segment 1, RIDs 0-0xfff -> SMMU A, StreamID = RID + 0x10000.
    [InlineData(1, 0x0000u, SmmuA, 0x10000u)]
    [InlineData(1, 0x0abcu, SmmuA, 0x10abcu)]
    [InlineData(1, 0x0fffu, SmmuA, 0x10fffu)]
    public void MapRequesterId_Mixed_WorkedOutByHand(int segment, uint rid, int smmu, uint streamId)
    {
        IortStreamMapping? m = IortTable.Parse(Mixed().Table()).MapRequesterId((ushort)segment, rid);

        Assert.NotNull(m);
        Assert.Equal(smmu, m.Smmu.Offset);
        Assert.Equal(streamId, m.StreamId);
    }

    [Theory]
    [InlineData(0, 0x0200u)] // past bus 1
    [InlineData(1, 0x1000u)] // past 0 + 0xfff
    [InlineData(2, 0x0000u)] // no such segment
    public void MapRequesterId_Mixed_OutsideEveryRangeIsNull(int segment, uint rid) =>
        Assert.Null(IortTable.Parse(Mixed().Table()).MapRequesterId((ushort)segment, rid));

    [Fact]
    public void MapRequesterIdToIts_Mixed_SkipsTheSmmuOwnMsiMapping()
    {
        IortTable t = IortTable.Parse(Mixed().Table());

        // RID 0x10 -> A StreamID 0x10; A's mapping 1 (its own MSI) is skipped; mapping 0 gives 0x10000 + 0x10.
        IortDeviceIdMapping? a = t.MapRequesterIdToIts(0, 0x10);
        Assert.NotNull(a);
        Assert.Equal(Its, a.ItsGroup.Offset);
        Assert.Equal(0x10010u, a.DeviceId);

        // RID 0x105 -> B StreamID 0x8005 -> DeviceID 0x30000 + 0x8005.
        Assert.Equal(0x38005u, t.MapRequesterIdToIts(0, 0x105)?.DeviceId);

        // Segment 1 RID 5 -> A StreamID 0x10005: past A's mapping 0, and the single mapping 1 is A's own MSI, skipped.
        Assert.Null(t.MapRequesterIdToIts(1, 5));
    }

    [Fact]
    public void MapRequesterIdToIts_MsiIndexNotValid_SingleMappingOnSmmuIsStillSkipped()
    {
        // Clear A's "DeviceID mapping index valid" flag (revision 5): index 1 no longer holds, so mapping 1 is
        // looked at; but a single mapping is only honoured on named components and root complexes, as in Linux.
        IortTable t = IortTable.Parse(Patched(x => x.U32(100, 0x0d)));

        Assert.False(t.SmmuV3Nodes[0].DeviceIdMappingIndexValid);
        Assert.Null(t.MapRequesterIdToIts(1, 5));
        Assert.Equal(0x10010u, t.MapRequesterIdToIts(0, 0x10)?.DeviceId);
    }

    [Fact]
    public void MapRequesterId_CountTakenAsNumberOfIds_NextRangeStartTakesOver()
    {
        // Firmware that wrote 0x100 (the count) for bus 0: RID 0x100 then matches the last ID of bus 0's range and
        // the first of bus 1's; as in Linux, the range that starts at 0x100 wins.
        IortTable t = IortTable.Parse(Patched(x => x.U32(312 + 4, 0x100)));

        Assert.Equal((SmmuB, 0x8000u), (t.MapRequesterId(0, 0x100)!.Smmu.Offset, t.MapRequesterId(0, 0x100)!.StreamId));
        Assert.Equal((SmmuA, 0xffu), (t.MapRequesterId(0, 0xff)!.Smmu.Offset, t.MapRequesterId(0, 0xff)!.StreamId));
    }

    [Fact]
    public void MapNamedComponent_Mixed_SingleMappingOnly()
    {
        IortTable t = IortTable.Parse(Mixed().Table());

        IortStreamMapping? eth = t.MapNamedComponent("\\_SB_.ETH0", 0);
        Assert.NotNull(eth);
        Assert.Equal((SmmuA, 0x40u), (eth.Smmu.Offset, eth.StreamId));
        Assert.Null(t.MapNamedComponent("\\_SB_.ETH0", 1)); // not a single mapping
        Assert.Null(t.MapNamedComponent("\\_SB_.ETH0", 2)); // no such mapping
        Assert.Null(t.MapNamedComponent("\\_SB_.ETH0", -1));
        Assert.Null(t.MapNamedComponent("\\_SB_.ETH1", 0));
    }

    [Fact]
    public void MapRequesterId_ToSkippedSmmuV2_IsNull()
    {
        // Root complex 1 sends its RIDs to the SMMUv1/v2 node, which is kept as skipped: a valid reference, no SMMUv3.
        IortTable t = IortTable.Parse(Patched(x => x.U32(388 + 12, SmmuV2)));

        Assert.Null(t.MapRequesterId(1, 5));
    }

    [Fact]
    public async Task MapRequesterId_ReferenceCycle_IsEinvalNotAHang()
    {
        // Root complex 1 -> named component -> (single mapping, ID 0x40) -> root complex 1 -> ... never an SMMUv3.
        IortTable t = IortTable.Parse(Patched(x => x.U32(388 + 12, Eth0).U32(448 + 12, Rc1)));

        IommuException e = await EndsWithEinval(() => t.MapRequesterId(1, 5));
        Assert.Contains($"offset {Rc1}", e.Message, StringComparison.Ordinal);
        Assert.Contains("cycle", e.Message, StringComparison.Ordinal);
        await EndsWithEinval(() => t.MapRequesterIdToIts(1, 5));
        await EndsWithEinval(() => t.MapNamedComponent("\\_SB_.ETH0", 0));
    }

    /// <summary>Runs a lookup on another thread, so that a walk without its bound fails the test instead of hanging it.</summary>
    private static async Task<IommuException> EndsWithEinval(Func<object?> lookup)
    {
        IommuException e = await Task.Run(() => Assert.Throws<IommuException>(lookup)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Errno.EINVAL, e.Code);
        return e;
    }

    [Fact]
    public void Parse_EveryTruncation_IsEinvalNamingTheOffset()
    {
        foreach (byte[] table in new[] { QemuVirt(), Mixed().Table() })
            for (int n = 0; n < table.Length; n++)
                Rejects(table[..n], n);
    }

    [Fact]
    public void Parse_TruncatedWithLengthAndChecksumRepaired_IsEinvalAtTheTableEnd()
    {
        // Cut inside the last decoded node (RMR at 548, 88 bytes) with a header that agrees: the node runs past the end.
        byte[] table = Mixed().Table()[..600];
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(4), 600);
        FixChecksum(table);

        IommuException e = Rejects(table, Rmr + 1);
        Assert.Contains("past the table end at offset 600", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WrongChecksum_IsEinvalAtOffset9()
    {
        byte[] table = QemuVirt();
        table[9] ^= 1;

        IommuException e = Rejects(table, 9);
        Assert.Contains("checksum", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WrongSignature_IsEinval()
    {
        byte[] table = QemuVirt();
        table[0] = (byte)'X';
        FixChecksum(table);

        Assert.Contains("signature 'XORT'", Rejects(table, 0).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NodeLengthZero_IsEinvalAtTheLengthField() =>
        Assert.Contains("below its 16-byte header", Rejects(Patched(x => x.U16(SmmuA + 1, 0)), SmmuA + 1).Message, StringComparison.Ordinal);

    [Fact]
    public void Parse_NodeShorterThanItsFixedPart_IsEinval() =>
        Assert.Contains("fixed part of 68 bytes", Rejects(Patched(x => x.U16(SmmuA + 1, 60)), SmmuA + 1).Message, StringComparison.Ordinal);

    [Fact]
    public void Parse_NodeLengthPastTheTable_IsEinvalAtTheLengthField() =>
        Rejects(Patched(x => x.U16(Unknown + 1, 0x100)), Unknown + 1);

    [Fact]
    public void Parse_NodeArrayOffsetInsideTheHeader_IsEinvalAtOffset40() =>
        Rejects(Patched(x => x.U32(40, 20)), 40);

    [Theory]
    [InlineData(70u)] // 70 + 2 * 20 = 110, past the node's 80 bytes
    [InlineData(16u)] // over the root complex's own fields
    [InlineData(0xfffffff0u)]
    public void Parse_MappingArrayOutsideTheNode_IsEinvalAtItsReference(uint mappingOffset) =>
        Assert.Contains("ID mappings", Rejects(Patched(x => x.U32(Rc0 + 12, mappingOffset)), Rc0 + 12).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData(SmmuA + 4)] // inside a node
    [InlineData(0)] // the table header
    [InlineData(MixedLength)] // the table end
    [InlineData(int.MinValue)] // 0x80000000
    public void Parse_OutputReferenceNotANode_IsEinvalAtTheReference(int reference) =>
        Assert.Contains("not the offset of an IORT node",
            Rejects(Patched(x => x.U32(312 + 12, (uint)reference)), 312 + 12).Message, StringComparison.Ordinal);

    [Fact]
    public void Parse_NamedComponentNameWithoutNul_IsEinvalAtTheName() =>
        Assert.Contains("no NUL", Rejects(Patched(x => x.U8(447, 'X')), Eth0 + 29).Message, StringComparison.Ordinal);

    [Fact]
    public void Parse_RmrRangesOutsideTheNode_IsEinvalAtTheirReference()
    {
        Rejects(Patched(x => x.U32(Rmr + 20, 3)), Rmr + 24); // 48 + 3 * 20 > 88
        Rejects(Patched(x => x.U32(Rmr + 24, 8)), Rmr + 24); // over the RMR's own fields
    }

    [Theory]
    [InlineData(36, 36)] // node count: the nodes run out at the table end
    [InlineData(Its + 16, Its + 16)] // number of ITSs
    [InlineData(Rc0 + 8, Rc0 + 12)] // number of ID mappings: named by the ID array reference
    [InlineData(Rmr + 20, Rmr + 24)] // number of memory range descriptors
    public void Parse_HugeCount_IsEinvalWithoutAllocatingForIt(int countField, int namedOffset)
    {
        byte[] table = Patched(x => x.U32(countField, uint.MaxValue));
        long before = GC.GetAllocatedBytesForCurrentThread();

        IommuException e = countField == 36 ? Rejects(table, MixedLength) : Rejects(table, namedOffset);

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "parsing allocated in proportion to the count");
        Assert.Contains("4294967295", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_FuzzedCopies_GiveResultOrIommuException()
    {
        var random = new Random(20260517);
        int parsed = 0, rejected = 0;
        foreach (byte[] original in new[] { QemuVirt(), Mixed().Table() })
            for (int round = 0; round < 600; round++)
            {
                byte[] copy = (byte[])original.Clone();
                for (int flips = random.Next(1, 4); flips > 0; flips--)
                {
                    int bit = random.Next(36 * 8, copy.Length * 8); // past the ACPI header, so the walk is reached
                    copy[bit / 8] ^= (byte)(1 << (bit % 8));
                }
                FixChecksum(copy);
                try
                {
                    IortTable t = IortTable.Parse(copy);
                    parsed++;
                    // The lookups on whatever parsed end, with a result or an EINVAL (a cycle), never another exception.
                    foreach (uint rid in new uint[] { 0, 0x10, 0xff, 0x100, 0x1ff, 0xabc, 0xffff })
                        for (ushort segment = 0; segment < 2; segment++)
                            try
                            {
                                _ = t.MapRequesterId(segment, rid);
                                _ = t.MapRequesterIdToIts(segment, rid);
                            }
                            catch (IommuException e) when (e.Code == Errno.EINVAL)
                            {
                            }
                    foreach (IortNamedComponent nc in t.NamedComponents)
                        try
                        {
                            _ = t.MapNamedComponent(nc.ObjectName, 0);
                        }
                        catch (IommuException e) when (e.Code == Errno.EINVAL)
                        {
                        }
                }
                catch (Exception e)
                {
                    Assert.IsType<IommuException>(e);
                    Assert.Matches("offset [0-9]+", e.Message);
                    rejected++;
                }
            }
        Assert.True(parsed > 0, "no fuzzed copy parsed");
        Assert.True(rejected > 0, "no fuzzed copy was rejected");
    }
}
