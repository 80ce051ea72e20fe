using System.Globalization;
using System.Text;
using Siov.Fast.Platforms;

namespace Siov.Fast.Cli;

/// <summary>
/// The text form of <c>siov platform show --iort</c>: one line per IORT node with its offset (the key ID
/// mappings refer to it by), type and decoded fields, its ID mappings indented below it, then the skipped
/// nodes. Names and OEM ids come through <see cref="AcpiTableHeader"/>'s ASCII decoding, which turns
/// any byte outside printable ASCII into '?'.
/// </summary>
internal static class IortText
{
    /// <summary>Renders a parsed IORT and, given the functions of an lspci listing, where each one's DMA goes: the SMMUv3
    /// (by base address) and StreamID its root complex maps its requester id to (<see cref="IortTable.MapRequesterId"/>), or
    /// that no SMMUv3 translates it.</summary>
    /// <param name="iort">The table.</param>
    /// <param name="topology">The functions, or null.</param>
    /// <returns>The text, one item a line.</returns>
    public static string Describe(IortTable iort, PciTopology? topology = null)
    {
        ArgumentNullException.ThrowIfNull(iort);
        var text = new StringBuilder();
        AcpiTableHeader h = iort.Header;
        Line(text, $"iort revision {h.Revision} oem '{h.OemId}' '{h.OemTableId}' nodes {iort.NodeCount} at {Hex(iort.NodeArrayOffset)}");
        foreach (IortNode node in iort.Nodes)
        {
            string head = $"node {Hex((uint)node.Offset)} id {node.Identifier} rev {node.Revision}";
            Line(text, node switch
            {
                IortItsGroup its => $"{head} its-group its [{string.Join(", ", its.ItsIdentifiers)}]",
                IortNamedComponent nc => $"{head} named-component '{nc.ObjectName}' flags {Hex(nc.NodeFlags)}{(nc.StallSupported ? " stall" : "")} ssid-bits {nc.SubstreamWidth} address-bits {nc.AddressSizeLimit}{Access(nc.MemoryAccess)}",
                IortRootComplex rc => $"{head} root-complex segment {rc.PciSegmentNumber} ats {Hex(rc.AtsAttribute)}{(rc.AtsSupported ? " ATS" : "")}{(rc.PriSupported ? " PRI" : "")}{(rc.PasidForwardingSupported ? " PASID-forwarding" : "")} address-bits {rc.AddressSizeLimit} max-pasid-bits {rc.MaxPasidWidth}{(rc.PasidSupported ? " pasid" : "")}{Access(rc.MemoryAccess)}",
                IortSmmuV3 s => $"{head} smmuv3 base {Hex(s.BaseAddress)} flags {Hex(s.Flags)}{(s.CoherentAccessOverride ? " cohacc-override" : "")} httu-override {s.HttuOverride} model {s.Model} gsiv event {s.EventGsiv} pri {s.PriGsiv} gerr {s.GerrGsiv} sync {s.SyncGsiv}{(s.ProximityDomainValid ? $" proximity-domain {s.ProximityDomain}" : "")}{(s.DeviceIdMappingIndexValid ? $" deviceid-mapping {s.DeviceIdMappingIndex}" : "")}{(s.VatosAddress != 0 ? $" vatos {Hex(s.VatosAddress)}" : "")}",
                IortPmcg p => $"{head} pmcg page0 {Hex(p.Page0BaseAddress)}{(p.Page1BaseAddress is ulong page1 ? $" page1 {Hex(page1)}" : "")} overflow-gsiv {p.OverflowGsiv} node {Hex(p.NodeReference)}",
                IortRmr r => $"{head} rmr flags {Hex(r.Flags)}{(r.RemappingPermitted ? " remap-permitted" : "")}{(r.AccessPrivileged ? " privileged" : "")} attributes {r.AccessAttributes}",
                _ => $"{head} type {node.Type}",
            });
            if (node is IortRmr rmr)
                foreach (IortMemoryRange range in rmr.MemoryRanges)
                    Line(text, $"  range {Hex(range.Base)} length {Hex(range.Length)}");
            foreach (IortIdMapping m in node.IdMappings)
                Line(text, m.SingleMapping
                    ? $"  map single -> node {Hex(m.OutputReference)} id {Hex(m.OutputBase)}"
                    : $"  map {Hex(m.InputBase)}-{Hex(m.InputLast)} -> node {Hex(m.OutputReference)} from {Hex(m.OutputBase)}");
        }
        foreach (SkippedSubtable s in iort.Skipped)
            Line(text, $"skipped node {Hex((uint)s.Offset)} type {s.Type}{(s.Type == 3 ? " (SMMUv1/v2)" : "")} length {s.Length}");
        foreach (PciFunction f in topology?.Functions ?? [])
        {
            Line(text, iort.MapRequesterId(f.Address.Segment, f.Address.RequesterId) is IortStreamMapping m
                ? $"device {f.Address} -> smmuv3 {Hex(m.Smmu.BaseAddress)} streamid {Hex(m.StreamId)}"
                : $"device {f.Address} -> no SMMUv3 (the IORT maps it to none)");
        }
        return text.ToString();
    }

    private static string Access(IortMemoryAccess a) =>
        $" cca {a.CacheCoherency} hints {Hex(a.AllocationHints)} memory-flags {Hex(a.MemoryAccessFlags)}";

    private static void Line(StringBuilder text, string line) => text.Append(line).AppendLine();

    private static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}
