namespace Siov.Fast.Platforms;

/// <summary>Remapping Hardware Static Affinity, RHSA (VT-d spec 8.6): the NUMA node of a unit.</summary>
/// <remarks>Layout: Type 0 (=3), Length 2 (=20), Reserved 4, Register Base Address 8, Proximity Domain 16.</remarks>
/// <param name="Offset">Byte offset of the structure in the table.</param>
/// <param name="RegisterBase">Register base of the unit (matches a DRHD).</param>
/// <param name="ProximityDomain">ACPI proximity domain.</param>
public sealed record RhsaAffinity(int Offset, ulong RegisterBase, uint ProximityDomain);
