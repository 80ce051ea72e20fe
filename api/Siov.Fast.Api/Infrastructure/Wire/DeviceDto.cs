using System.Text.Json;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Iommu;
using Siov.Fast.PageTables;
using Siov.Fast.Platforms;
using Siov.Fast.Vfio;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record DeviceDto(string Bdf, string RequesterId, string Unit, int? Group, int PasidWidth, bool Ats, bool Pri,
    bool AuxSupported, bool AuxEnabled, int? Domain, PasidDto[] Pasids, bool MdevParent, string[] ReservedRegions);
