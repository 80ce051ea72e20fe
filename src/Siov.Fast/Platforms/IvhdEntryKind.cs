namespace Siov.Fast.Platforms;

/// <summary>What an IVHD device entry does (AMD IOMMU spec 5.2.2.2, Table "IVHD Device Entry Type Codes").</summary>
public enum IvhdEntryKind
{
    /// <summary>A type the parser does not decode (reserved types); skipped by its encoded size.</summary>
    Unknown,

    /// <summary>Type 0: padding.</summary>
    Pad,

    /// <summary>Type 2: one device.</summary>
    Select,

    /// <summary>Type 3: start of a device id range (ends at the next End Range).</summary>
    StartRange,

    /// <summary>Type 4: end of a device id range.</summary>
    EndRange,

    /// <summary>Type 42h: one device whose requests carry the source (alias) device id.</summary>
    AliasSelect,

    /// <summary>Type 43h: start of a range whose requests carry the source (alias) device id.</summary>
    AliasStartRange,

    /// <summary>Type 46h: one device with extended data (ATS disabled bit).</summary>
    ExtendedSelect,

    /// <summary>Type 47h: start of a range with extended data.</summary>
    ExtendedStartRange,

    /// <summary>Type 48h: a special device (IOAPIC or HPET) with its handle and device id.</summary>
    Special,

    /// <summary>Type F0h: an ACPI device named by HID, CID and UID (variable length).</summary>
    AcpiHid,
}
