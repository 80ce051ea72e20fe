using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record IommufdAttachRequest([property: Required] uint? PtId);
