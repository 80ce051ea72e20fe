using System.ComponentModel.DataAnnotations;
namespace Siov.Fast.Api.Infrastructure.Wire;

/// <summary>An answer to a page fault group (<c>struct iommu_hwpt_page_response</c>): its cookie and "success" or "invalid".</summary>
internal sealed record PageResponseRequest([property: Required] uint? Cookie, [property: Required] string? Code);
