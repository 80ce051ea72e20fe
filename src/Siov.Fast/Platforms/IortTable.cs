using System.Collections.Immutable;
using System.Globalization;
using L = Siov.Fast.Platforms.IortLayout;

namespace Siov.Fast.Platforms;

/// <summary>
/// The ACPI IO Remapping Table, IORT (ARM DEN 0049E.e, "IO Remapping Table, Platform Design Document"; IORT
/// revisions 0 to 6), parsed from its bytes (<c>/sys/firmware/acpi/tables/IORT</c>), with the ID mapping walk
/// Linux's <c>iort_node_map_id</c> does: a PCI requester ID to the SMMUv3 and StreamID, or on to the ITS group
/// and DeviceID.
/// </summary>
/// <remarks>
/// <para>Layout: the 36-byte ACPI header, Number of IORT Nodes 36-39, Offset to Array of IORT Nodes 40-43,
/// Reserved 44-47, then the nodes back to back from that offset, each a 16-byte header (Type 0, Length 1-2,
/// Revision 3, Identifier 4-7, Number of ID mappings 8-11, Reference to ID Array 12-15) and the type's fields.
/// Types 0 (ITS group), 1 (named component), 2 (root complex), 4 (SMMUv3), 5 (PMCG) and 6 (RMR) are decoded;
/// type 3 (SMMUv1/v2) and unknown types are skipped by their length and listed in <see cref="Skipped"/>.</para>
/// <para>Damage is an EINVAL <see cref="IommuException"/> whose message names the byte offset: truncation, a
/// wrong checksum, a node count or node length running past the table end, a node shorter than its fixed part,
/// an ID array or memory range array outside its node, a named component name without its NUL, and an ID
/// mapping whose output reference is not the offset of a node. Parsing reads each byte a bounded number of
/// times and allocates in proportion to the bytes present, whatever the counts claim.</para>
/// </remarks>
public sealed class IortTable
{
    /// <summary>How many nodes an ID mapping walk passes before it gives up: valid chains are two or three long
    /// (root complex, SMMUv3, ITS group), so a longer one is a cycle of output references.</summary>
    public const int MaxMappingChain = 16;

    private readonly Dictionary<int, IortNode> _byOffset;

    private IortTable(AcpiTableHeader header, uint nodeCount, uint nodeArrayOffset, Dictionary<int, IortNode> byOffset)
    {
        Header = header;
        NodeCount = nodeCount;
        NodeArrayOffset = nodeArrayOffset;
        _byOffset = byOffset;
    }

    /// <summary>The ACPI header.</summary>
    public AcpiTableHeader Header { get; }

    /// <summary>Number of IORT nodes, as the header at offset 36 gives it (decoded and skipped nodes together).</summary>
    public uint NodeCount { get; }

    /// <summary>Byte offset of the first node, as the header at offset 40 gives it.</summary>
    public uint NodeArrayOffset { get; }

    /// <summary>The decoded nodes in table order (all types but the skipped ones).</summary>
    public ImmutableArray<IortNode> Nodes { get; private init; }

    /// <summary>ITS group nodes (type 0).</summary>
    public ImmutableArray<IortItsGroup> ItsGroups { get; private init; }

    /// <summary>Named component nodes (type 1).</summary>
    public ImmutableArray<IortNamedComponent> NamedComponents { get; private init; }

    /// <summary>PCI root complex nodes (type 2).</summary>
    public ImmutableArray<IortRootComplex> RootComplexes { get; private init; }

    /// <summary>SMMUv3 nodes (type 4).</summary>
    public ImmutableArray<IortSmmuV3> SmmuV3Nodes { get; private init; }

    /// <summary>PMCG nodes (type 5).</summary>
    public ImmutableArray<IortPmcg> PmcgNodes { get; private init; }

    /// <summary>Reserved memory range nodes (RMR, type 6).</summary>
    public ImmutableArray<IortRmr> RmrNodes { get; private init; }

    /// <summary>Nodes of type 3 (SMMUv1/v2) or of unknown type, skipped by their length.</summary>
    public ImmutableArray<SkippedSubtable> Skipped { get; private init; }

    /// <summary>The decoded node at a byte offset of the table.</summary>
    /// <param name="offset">Byte offset from the start of the table, as ID mappings' output references give it.</param>
    /// <returns>The node, or null when no decoded node starts there (a skipped node, or no node).</returns>
    public IortNode? NodeAt(int offset) => _byOffset.GetValueOrDefault(offset);

    /// <summary>
    /// Maps a PCI requester ID to the SMMUv3 that translates its DMA and the StreamID it carries there, as Linux's
    /// <c>iort_node_map_id</c> does for an IOMMU: from the first root complex of <paramref name="segment"/>, each
    /// node's ID mappings take the ID to the next node until an SMMUv3 is reached.
    /// </summary>
    /// <remarks>A mapping covers [input base, input base + Number of IDs] (the field holds the count minus one),
    /// giving output base + (ID - input base). As in Linux, a match on the last ID of a range that another range
    /// starts with yields to that range (firmware that took "Number of IDs" for the count); a single mapping maps
    /// every ID of a root complex or named component to its output base; on an SMMUv3 passed through, its own MSI
    /// mapping (<see cref="IortSmmuV3.DeviceIdMappingIndex"/>) is skipped, and on a PMCG its mapping 0.</remarks>
    /// <param name="segment">The PCI segment (domain) number.</param>
    /// <param name="requesterId">The requester ID, bus &lt;&lt; 8 | device &lt;&lt; 3 | function.</param>
    /// <returns>The SMMUv3 and StreamID, or null when no root complex has that segment, the ID falls in no mapping
    /// along the way, or the chain ends at a node that is not an SMMUv3 (an ITS group: no IOMMU translates the
    /// device; a skipped SMMUv1/v2 node).</returns>
    /// <exception cref="IommuException">EINVAL naming a node offset when the chain passes
    /// <see cref="MaxMappingChain"/> nodes (a cycle of output references).</exception>
    public IortStreamMapping? MapRequesterId(ushort segment, uint requesterId)
    {
        IortRootComplex? rc = RootComplexOf(segment);
        if (rc is null)
            return null;
        return Walk(rc, requesterId, static n => n is IortSmmuV3) is (IortSmmuV3 smmu, uint streamId)
            ? new IortStreamMapping(smmu, streamId)
            : null;
    }

    /// <summary>
    /// Maps a PCI requester ID to the ITS group its MSIs go to and the DeviceID they carry, as Linux's
    /// <c>iort_msi_map_id</c> does: the same walk as <see cref="MapRequesterId"/>, through the SMMUv3 (whose own
    /// MSI mapping is skipped) to an ITS group.
    /// </summary>
    /// <param name="segment">The PCI segment (domain) number.</param>
    /// <param name="requesterId">The requester ID, bus &lt;&lt; 8 | device &lt;&lt; 3 | function.</param>
    /// <returns>The ITS group and DeviceID, or null when no root complex has that segment, the ID falls in no
    /// mapping along the way, or the chain ends at a node that is not an ITS group.</returns>
    /// <exception cref="IommuException">EINVAL naming a node offset when the chain passes
    /// <see cref="MaxMappingChain"/> nodes (a cycle of output references).</exception>
    public IortDeviceIdMapping? MapRequesterIdToIts(ushort segment, uint requesterId)
    {
        IortRootComplex? rc = RootComplexOf(segment);
        if (rc is null)
            return null;
        return Walk(rc, requesterId, static n => n is IortItsGroup) is (IortItsGroup its, uint deviceId)
            ? new IortDeviceIdMapping(its, deviceId)
            : null;
    }

    /// <summary>
    /// Maps a named component's ID mapping to the SMMUv3 and StreamID, as Linux's <c>iort_node_map_platform_id</c>
    /// does: mapping <paramref name="mappingIndex"/> of the first named component called
    /// <paramref name="objectName"/> must be a single mapping; its output base, on the node it references, is the
    /// ID the walk of <see cref="MapRequesterId"/> continues with.
    /// </summary>
    /// <param name="objectName">The device's ACPI namespace path, exactly as the node gives it (e.g. "\_SB_.ETH0").</param>
    /// <param name="mappingIndex">Which of the node's ID mappings, from 0 (a device with several StreamIDs has one each).</param>
    /// <returns>The SMMUv3 and StreamID, or null when no named component has that name, the index is out of range,
    /// the mapping is not a single mapping, or the chain ends at a node that is not an SMMUv3.</returns>
    /// <exception cref="IommuException">EINVAL naming a node offset when the chain passes
    /// <see cref="MaxMappingChain"/> nodes (a cycle of output references).</exception>
    public IortStreamMapping? MapNamedComponent(string objectName, int mappingIndex)
    {
        ArgumentNullException.ThrowIfNull(objectName);
        IortNamedComponent? nc = NamedComponents.FirstOrDefault(n => string.Equals(n.ObjectName, objectName, StringComparison.Ordinal));
        if (nc is null || mappingIndex < 0 || mappingIndex >= nc.IdMappings.Length)
            return null;
        IortIdMapping map = nc.IdMappings[mappingIndex];
        if (!map.SingleMapping || NodeAt((int)map.OutputReference) is not { } parent)
            return null;
        return Walk(parent, map.OutputBase, static n => n is IortSmmuV3) is (IortSmmuV3 smmu, uint streamId)
            ? new IortStreamMapping(smmu, streamId)
            : null;
    }

    private IortRootComplex? RootComplexOf(ushort segment) =>
        RootComplexes.FirstOrDefault(rc => rc.PciSegmentNumber == segment);

    /// <summary>Follows ID mappings from <paramref name="start"/> until a node <paramref name="isTarget"/> accepts.</summary>
    private (IortNode Node, uint Id)? Walk(IortNode start, uint id, Func<IortNode, bool> isTarget)
    {
        IortNode node = start;
        for (int passed = 0; passed < MaxMappingChain; passed++)
        {
            if (isTarget(node))
                return (node, id);
            if (!MapOnce(node, id, out uint next, out uint reference) || NodeAt((int)reference) is not { } parent)
                return null;
            node = parent;
            id = next;
        }
        Throw.Iommu(Errno.EINVAL, string.Create(CultureInfo.InvariantCulture,
            $"IORT table: the ID mapping chain from the node at offset {start.Offset} passes {MaxMappingChain} nodes without an end: the output references form a cycle through the node at offset {node.Offset}"));
        return null;
    }

    /// <summary>One step of the walk: which mapping of <paramref name="node"/> takes <paramref name="id"/>, and where.</summary>
    private static bool MapOnce(IortNode node, uint id, out uint output, out uint reference)
    {
        int skip = node switch
        {
            IortSmmuV3 smmu => smmu.MsiMappingIndex,
            IortPmcg => 0,
            _ => -1,
        };
        bool pending = false;
        output = 0;
        reference = 0;
        for (int i = 0; i < node.IdMappings.Length; i++)
        {
            if (i == skip)
                continue;
            IortIdMapping map = node.IdMappings[i];
            if (map.SingleMapping)
            {
                // Only named components and root complexes have single mappings; Linux skips one elsewhere.
                if (node is not (IortNamedComponent or IortRootComplex))
                    continue;
                output = map.OutputBase;
                reference = map.OutputReference;
                return true;
            }
            if (id < map.InputBase || id > map.InputLast)
                continue;
            // After a match on the last ID of an earlier range, only a range starting at the ID takes over.
            if (pending && id != map.InputBase)
                continue;
            output = unchecked(map.OutputBase + (id - map.InputBase));
            reference = map.OutputReference;
            if (!pending && map.IdCountMinusOne > 0 && id == map.InputLast)
            {
                pending = true;
                continue;
            }
            return true;
        }
        return pending;
    }

    /// <summary>Parses an IORT table.</summary>
    /// <param name="table">The table bytes, exactly as firmware provides them.</param>
    /// <returns>The parsed table.</returns>
    /// <exception cref="IommuException">EINVAL naming the byte offset of the damage.</exception>
    public static IortTable Parse(ReadOnlySpan<byte> table)
    {
        AcpiTableHeader header = AcpiTableHeader.Read(table, "IORT", L.Table.Size);
        var r = new TableReader(table[..(int)header.Length], "IORT");
        uint count = L.Table.NodeCount.U32(r, 0);
        uint arrayOffset = L.Table.NodeArrayOffset.U32(r, 0);
        if (count > 0 && (arrayOffset < L.Table.Size || arrayOffset > r.Length))
            r.Fail(L.Table.NodeArrayOffset.Offset,
                $"offset to the node array {arrayOffset} is not between the end of the 48-byte header and the table end at offset {r.Length}");

        var nodes = ImmutableArray.CreateBuilder<IortNode>();
        var skipped = ImmutableArray.CreateBuilder<SkippedSubtable>();
        var byOffset = new Dictionary<int, IortNode>();
        var skippedOffsets = new HashSet<int>();
        int at = (int)arrayOffset;
        // Every node takes at least its 16-byte header, so the loop ends within Length / 16 rounds however large count is.
        for (uint i = 0; i < count; i++)
        {
            if (at + L.Node.Size > r.Length)
                r.Fail(at, $"node {i} of the {count} the header at offset 36 counts needs a 16-byte header, past the table end at offset {r.Length}");
            byte type = L.Node.Type.U8(r, at);
            int length = L.Node.Length.U16(r, at);
            if (length < L.Node.Size)
                r.Fail(at + L.Node.Length.Offset, $"node length {length} is below its 16-byte header");
            if (at + length > r.Length)
                r.Fail(at + L.Node.Length.Offset, $"node of type {type} and length {length} at offset {at} runs past the table end at offset {r.Length}");
            IortNode? node = ReadNode(r, at, type, length);
            if (node is null)
            {
                skipped.Add(new SkippedSubtable(type, at, length));
                skippedOffsets.Add(at);
            }
            else
            {
                nodes.Add(node);
                byOffset.Add(at, node);
            }
            at += length;
        }

        foreach (IortNode node in nodes)
            foreach (IortIdMapping map in node.IdMappings)
                if (map.OutputReference > int.MaxValue
                    || !(byOffset.ContainsKey((int)map.OutputReference) || skippedOffsets.Contains((int)map.OutputReference)))
                    r.Fail(map.Offset + L.IdMapping.OutputReference.Offset,
                        $"ID mapping output reference {map.OutputReference} (0x{map.OutputReference:x}) is not the offset of an IORT node");

        ImmutableArray<IortNode> all = nodes.ToImmutable();
        return new IortTable(header, count, arrayOffset, byOffset)
        {
            Nodes = all,
            ItsGroups = [.. all.OfType<IortItsGroup>()],
            NamedComponents = [.. all.OfType<IortNamedComponent>()],
            RootComplexes = [.. all.OfType<IortRootComplex>()],
            SmmuV3Nodes = [.. all.OfType<IortSmmuV3>()],
            PmcgNodes = [.. all.OfType<IortPmcg>()],
            RmrNodes = [.. all.OfType<IortRmr>()],
            Skipped = skipped.ToImmutable(),
        };
    }

    /// <summary>Decodes the node at <paramref name="at"/>; null for a type that is skipped.</summary>
    private static IortNode? ReadNode(TableReader r, int at, byte type, int length)
    {
        byte revision = L.Node.Revision.U8(r, at);
        uint identifier = L.Node.Identifier.U32(r, at);
        switch (type)
        {
            case L.NodeType.ItsGroup:
            {
                RequireFixed(r, at, length, L.ItsGroup.Identifiers, "ITS group");
                uint its = L.ItsGroup.ItsCount.U32(r, at);
                long end = L.ItsGroup.Identifiers + 4L * its;
                if (end > length)
                    r.Fail(at + L.ItsGroup.ItsCount.Offset, $"{its} ITS identifiers run past the ITS group node's end at offset {at + length}");
                var ids = ImmutableArray.CreateBuilder<uint>((int)its);
                for (int k = 0; k < its; k++)
                    ids.Add(r.U32(at + L.ItsGroup.Identifiers + 4 * k));
                return new IortItsGroup(at, length, revision, identifier, ReadMappings(r, at, length, (int)end, "ITS group"),
                    ids.MoveToImmutable());
            }
            case L.NodeType.NamedComponent:
            {
                // At least the name's NUL follows the fixed fields.
                RequireFixed(r, at, length, L.NamedComponent.ObjectName + 1, "named component");
                ImmutableArray<IortIdMapping> mappings = ReadMappings(r, at, length, L.NamedComponent.ObjectName + 1, "named component");
                int nameEnd = mappings.IsEmpty ? length : mappings[0].Offset - at;
                ReadOnlySpan<byte> name = r.Slice(at + L.NamedComponent.ObjectName, nameEnd - L.NamedComponent.ObjectName);
                if (name.IndexOf((byte)0) < 0)
                    r.Fail(at + L.NamedComponent.ObjectName,
                        $"named component object name has no NUL before {(mappings.IsEmpty ? "the node's end" : "its ID array")} at offset {at + nameEnd}");
                return new IortNamedComponent(at, length, revision, identifier, mappings,
                    L.NamedComponent.NodeFlags.U32(r, at), IortMemoryAccess.Read(r, at + L.NamedComponent.MemoryAccessProperties),
                    L.NamedComponent.AddressSizeLimit.U8(r, at), AcpiTableHeader.Ascii(name));
            }
            case L.NodeType.RootComplex:
            {
                RequireFixed(r, at, length, L.RootComplex.Size, "root complex");
                ImmutableArray<IortIdMapping> mappings = ReadMappings(r, at, length, L.RootComplex.Size, "root complex");
                int fixedEnd = mappings.IsEmpty ? length : mappings[0].Offset - at;
                bool pasid = revision >= L.RootComplex.PasidRevision;
                return new IortRootComplex(at, length, revision, identifier, mappings,
                    IortMemoryAccess.Read(r, at + L.RootComplex.MemoryAccessProperties), L.RootComplex.AtsAttribute.U32(r, at),
                    L.RootComplex.PciSegmentNumber.U32(r, at), L.RootComplex.AddressSizeLimit.U8(r, at),
                    pasid ? L.RootComplex.PasidCapabilities.U16(r, at) : (ushort)0,
                    pasid && fixedEnd >= L.RootComplex.Flags.End ? L.RootComplex.Flags.U32(r, at) : 0);
            }
            case L.NodeType.SmmuV3:
                RequireFixed(r, at, length, L.SmmuV3.Size, "SMMUv3");
                return new IortSmmuV3(at, length, revision, identifier, ReadMappings(r, at, length, L.SmmuV3.Size, "SMMUv3"),
                    L.SmmuV3.BaseAddress.U64(r, at), L.SmmuV3.Flags.U32(r, at), L.SmmuV3.VatosAddress.U64(r, at),
                    L.SmmuV3.Model.U32(r, at), L.SmmuV3.EventGsiv.U32(r, at), L.SmmuV3.PriGsiv.U32(r, at),
                    L.SmmuV3.GerrGsiv.U32(r, at), L.SmmuV3.SyncGsiv.U32(r, at), L.SmmuV3.ProximityDomain.U32(r, at),
                    L.SmmuV3.DeviceIdMappingIndex.U32(r, at));
            case L.NodeType.Pmcg:
            {
                int size = revision >= 1 ? L.Pmcg.Page1BaseAddress.End : L.Pmcg.Size;
                RequireFixed(r, at, length, size, $"revision {revision} PMCG");
                return new IortPmcg(at, length, revision, identifier, ReadMappings(r, at, length, size, "PMCG"),
                    L.Pmcg.Page0BaseAddress.U64(r, at), L.Pmcg.OverflowGsiv.U32(r, at), L.Pmcg.NodeReference.U32(r, at),
                    revision >= 1 ? L.Pmcg.Page1BaseAddress.U64(r, at) : null);
            }
            case L.NodeType.Rmr:
            {
                RequireFixed(r, at, length, L.Rmr.Size, "RMR");
                uint rangeCount = L.Rmr.RangeCount.U32(r, at);
                uint rangeArray = L.Rmr.RangeArray.U32(r, at);
                if (rangeCount > 0 && (rangeArray < L.Rmr.Size || rangeArray + (long)rangeCount * L.MemoryRange.Size > length))
                    r.Fail(at + L.Rmr.RangeArray.Offset,
                        $"{rangeCount} memory range descriptors at node offset {rangeArray} lie outside the RMR node's bytes {L.Rmr.Size} to {length}");
                var ranges = ImmutableArray.CreateBuilder<IortMemoryRange>((int)rangeCount);
                for (int k = 0; k < rangeCount; k++)
                {
                    int d = at + (int)rangeArray + k * L.MemoryRange.Size;
                    ranges.Add(new IortMemoryRange(d, L.MemoryRange.Base.U64(r, d), L.MemoryRange.Length.U64(r, d)));
                }
                return new IortRmr(at, length, revision, identifier, ReadMappings(r, at, length, L.Rmr.Size, "RMR"),
                    L.Rmr.Flags.U32(r, at), ranges.MoveToImmutable());
            }
            default:
                return null;
        }
    }

    private static void RequireFixed(TableReader r, int at, int length, int size, string kind)
    {
        if (length < size)
            r.Fail(at + L.Node.Length.Offset, $"{kind} node length {length} is below its fixed part of {size} bytes");
    }

    /// <summary>Reads a node's ID array, which must lie inside the node after its fixed part (<paramref name="start"/>).</summary>
    private static ImmutableArray<IortIdMapping> ReadMappings(TableReader r, int at, int length, int start, string kind)
    {
        uint count = L.Node.MappingCount.U32(r, at);
        if (count == 0)
            return [];
        uint offset = L.Node.MappingArray.U32(r, at);
        if (offset < start || offset + (long)count * L.IdMapping.Size > length)
            r.Fail(at + L.Node.MappingArray.Offset,
                $"{count} ID mappings at node offset {offset} lie outside the {kind} node's bytes {start} to {length}");
        var mappings = ImmutableArray.CreateBuilder<IortIdMapping>((int)count);
        for (int k = 0; k < count; k++)
        {
            int m = at + (int)offset + k * L.IdMapping.Size;
            mappings.Add(new IortIdMapping(m, L.IdMapping.InputBase.U32(r, m), L.IdMapping.NumberOfIds.U32(r, m),
                L.IdMapping.OutputBase.U32(r, m), L.IdMapping.OutputReference.U32(r, m), L.IdMapping.Flags.U32(r, m)));
        }
        return mappings.MoveToImmutable();
    }
}
