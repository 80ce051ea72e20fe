using System.ComponentModel.DataAnnotations;
namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary>A page request the modelled function sends (PCIe PRI): PASID (or none), the address in hex, the access ("r",
/// "w", "rw"), the PRG index (0-511, default 0) and whether it is the last of its group (default true).</summary>
internal sealed record PageRequestRequest(uint? Pasid, [property: Required] string? Address, string? Access, int? Group, bool? Last);
