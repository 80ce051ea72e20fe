namespace Siov.Fast.Platforms;

/// <summary>ACPI Name-space Device Declaration, ANDD (VT-d spec 8.7): names the ACPI device behind a
/// namespace-device scope.</summary>
/// <remarks>Layout: Type 0 (=4), Length 2, Reserved 4-6, ACPI Device Number 7, Object Name 8.. (NUL-terminated ASCII).</remarks>
/// <param name="Offset">Byte offset of the structure in the table.</param>
/// <param name="DeviceNumber">The number that namespace scopes give as enumeration id.</param>
/// <param name="ObjectName">The ACPI object path, e.g. <c>\_SB.PCI0.I2C0</c>.</param>
public sealed record AnddDevice(int Offset, byte DeviceNumber, string ObjectName);
