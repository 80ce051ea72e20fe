using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record HwptAllocRequest([property: Required] uint? DevId, [property: Required] uint? PtId, string[]? Flags, VtdS1Dto? VtdS1, uint? FaultId = null);
