namespace Siov.Fast.Platforms;

/// <summary>Device scope entry types (VT-d spec 8.3.1, Table "Device Scope Entry Types").</summary>
public enum DeviceScopeType
{
    /// <summary>A PCI endpoint device: the scope names that one function.</summary>
    PciEndpoint = 1,

    /// <summary>A PCI-PCI bridge: the scope covers every bus under it.</summary>
    PciBridge = 2,

    /// <summary>An I/O APIC, with its APIC id as enumeration id.</summary>
    IoApic = 3,

    /// <summary>A message-capable HPET, with its HPET number as enumeration id.</summary>
    Hpet = 4,

    /// <summary>An ACPI namespace device, with its ANDD device number as enumeration id.</summary>
    AcpiNamespaceDevice = 5,
}
