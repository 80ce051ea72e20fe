namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record UnitDto(string Name, string RegisterBase, string Mode, string Vendor, string Profile, string Cap, string Ecap,
    int[] Levels, int Mgaw, int HostAddressWidth, int DomainIds, int PasidWidth, string[] PageSizes, int IotlbCapacity, int FaultLogCapacity);
