namespace Siov.Fast.Platforms;

/// <summary>A unit's register images as Linux prints them at boot:
/// <c>DMAR: dmar0: reg_base_addr d97fc000 ver 6:0 cap 19ed008c40780c66 ecap 3ee9e86f050df</c>.</summary>
/// <param name="Name">The kernel's unit name, e.g. <c>dmar0</c>.</param>
/// <param name="RegisterBase">Register base address.</param>
/// <param name="MajorVersion">VER_REG major version.</param>
/// <param name="MinorVersion">VER_REG minor version.</param>
/// <param name="Capability">CAP_REG image.</param>
/// <param name="ExtendedCapability">ECAP_REG image.</param>
public sealed record DmarUnitRegisters(string Name, ulong RegisterBase, int MajorVersion, int MinorVersion, ulong Capability, ulong ExtendedCapability);
