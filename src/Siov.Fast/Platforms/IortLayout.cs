namespace Siov.Fast.Platforms;

/// <summary>
/// Byte layout of the IORT (ARM DEN 0049E.e, "IO Remapping Table, Platform Design Document"):
/// every field the parser reads, defined once with its offset and width. Offsets of node fields are from
/// the start of the node; offsets of the header fields are from the start of the table.
/// </summary>
internal static class IortLayout
{
    /// <summary>The IORT header: the 36-byte ACPI header, then these fields (DEN 0049E.e "IORT table header").</summary>
    internal static class Table
    {
        public static readonly TableField NodeCount = new(36, 4, "Number of IORT Nodes");
        public static readonly TableField NodeArrayOffset = new(40, 4, "Offset to Array of IORT Nodes");

        /// <summary>Header size: 36 (ACPI header) + 4 + 4 + 4 reserved.</summary>
        public const int Size = 48;
    }

    /// <summary>The header every node starts with (DEN 0049E.e "IORT node header").</summary>
    internal static class Node
    {
        public static readonly TableField Type = new(0, 1, "Type");
        public static readonly TableField Length = new(1, 2, "Length");
        public static readonly TableField Revision = new(3, 1, "Revision");
        public static readonly TableField Identifier = new(4, 4, "Identifier");
        public static readonly TableField MappingCount = new(8, 4, "Number of ID mappings");
        public static readonly TableField MappingArray = new(12, 4, "Reference to ID Array");

        public const int Size = 16;
    }

    /// <summary>Node type values (DEN 0049E.e table "IORT node types").</summary>
    internal static class NodeType
    {
        public const byte ItsGroup = 0;
        public const byte NamedComponent = 1;
        public const byte RootComplex = 2;
        public const byte SmmuV1V2 = 3;
        public const byte SmmuV3 = 4;
        public const byte Pmcg = 5;
        public const byte Rmr = 6;
    }

    /// <summary>An ID mapping, an element of a node's ID array (DEN 0049E.e "ID mappings").</summary>
    internal static class IdMapping
    {
        public static readonly TableField InputBase = new(0, 4, "Input base");
        public static readonly TableField NumberOfIds = new(4, 4, "Number of IDs");
        public static readonly TableField OutputBase = new(8, 4, "Output base");
        public static readonly TableField OutputReference = new(12, 4, "Output reference");
        public static readonly TableField Flags = new(16, 4, "Flags");

        public const int Size = 20;

        /// <summary>Flags bit 0: single mapping (the input ID is ignored; the output is the output base).</summary>
        public const uint SingleMapping = 1;
    }

    /// <summary>Memory access properties, 8 bytes inside named component and root complex nodes (DEN 0049E.e "Memory access properties").</summary>
    internal static class MemoryAccess
    {
        public static readonly TableField CacheCoherency = new(0, 4, "Cache Coherent Attribute");
        public static readonly TableField AllocationHints = new(4, 1, "Allocation Hints");
        public static readonly TableField MemoryAccessFlags = new(7, 1, "Memory Access Flags");

        public const int Size = 8;
    }

    /// <summary>ITS group node, type 0 (DEN 0049E.e).</summary>
    internal static class ItsGroup
    {
        public static readonly TableField ItsCount = new(16, 4, "Number of ITSs");

        /// <summary>Start of the array of 32-bit GIC ITS identifiers.</summary>
        public const int Identifiers = 20;
    }

    /// <summary>Named component node, type 1 (DEN 0049E.e).</summary>
    internal static class NamedComponent
    {
        public static readonly TableField NodeFlags = new(16, 4, "Node Flags");
        public const int MemoryAccessProperties = 20;
        public static readonly TableField AddressSizeLimit = new(28, 1, "Device Memory Address Size Limit");

        /// <summary>Start of the NUL-terminated ASCII device object name.</summary>
        public const int ObjectName = 29;
    }

    /// <summary>PCI root complex node, type 2 (DEN 0049E.e).</summary>
    internal static class RootComplex
    {
        public const int MemoryAccessProperties = 16;
        public static readonly TableField AtsAttribute = new(24, 4, "ATS Attribute");
        public static readonly TableField PciSegmentNumber = new(28, 4, "PCI Segment number");
        public static readonly TableField AddressSizeLimit = new(32, 1, "Memory address size limit");

        /// <summary>PASID capabilities (bits 4:0 max PASID width); node revision 4 and later, reserved before.</summary>
        public static readonly TableField PasidCapabilities = new(33, 2, "PASID Capabilities");

        /// <summary>Flags (bit 0 PASID supported); node revision 4 and later, when the node's fixed part reaches it.</summary>
        public static readonly TableField Flags = new(36, 4, "Flags");

        /// <summary>Fixed part up to the reserved byte at 35 (present in every revision).</summary>
        public const int Size = 36;

        /// <summary>Revision that introduced PASID Capabilities and Flags.</summary>
        public const int PasidRevision = 4;
    }

    /// <summary>SMMUv3 node, type 4 (DEN 0049E.e).</summary>
    internal static class SmmuV3
    {
        public static readonly TableField BaseAddress = new(16, 8, "Base Address");
        public static readonly TableField Flags = new(24, 4, "Flags");
        public static readonly TableField VatosAddress = new(32, 8, "VATOS address");
        public static readonly TableField Model = new(40, 4, "Model");
        public static readonly TableField EventGsiv = new(44, 4, "Event");
        public static readonly TableField PriGsiv = new(48, 4, "PRI");
        public static readonly TableField GerrGsiv = new(52, 4, "GERR");
        public static readonly TableField SyncGsiv = new(56, 4, "Sync");
        public static readonly TableField ProximityDomain = new(60, 4, "Proximity domain");
        public static readonly TableField DeviceIdMappingIndex = new(64, 4, "DeviceID mapping index");

        public const int Size = 68;
    }

    /// <summary>PMCG node, type 5 (DEN 0049E.e).</summary>
    internal static class Pmcg
    {
        public static readonly TableField Page0BaseAddress = new(16, 8, "Page 0 Base Address");
        public static readonly TableField OverflowGsiv = new(24, 4, "Overflow interrupt GSIV");
        public static readonly TableField NodeReference = new(28, 4, "Node reference");

        /// <summary>Page 1 base address: node revision 1 and later.</summary>
        public static readonly TableField Page1BaseAddress = new(32, 8, "Page 1 Base Address");

        /// <summary>Fixed part of a revision 0 node; revision 1 and later reach <see cref="Page1BaseAddress"/>'s end.</summary>
        public const int Size = 32;
    }

    /// <summary>Reserved memory range (RMR) node, type 6 (DEN 0049E.e).</summary>
    internal static class Rmr
    {
        public static readonly TableField Flags = new(16, 4, "RMR Flags");
        public static readonly TableField RangeCount = new(20, 4, "Number of Memory Range Descriptors");
        public static readonly TableField RangeArray = new(24, 4, "Reference to Memory Range Descriptors");

        public const int Size = 28;
    }

    /// <summary>A memory range descriptor inside an RMR node (DEN 0049E.e "Memory Range Descriptor").</summary>
    internal static class MemoryRange
    {
        public static readonly TableField Base = new(0, 8, "Physical Range offset");
        public static readonly TableField Length = new(8, 8, "Physical Range length");

        public const int Size = 20;
    }
}
