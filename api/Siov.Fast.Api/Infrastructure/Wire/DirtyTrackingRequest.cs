using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record DirtyTrackingRequest([property: Required] bool? Enabled);
