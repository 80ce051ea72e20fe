using Microsoft.AspNetCore.Http.HttpResults;
using Siov.Fast.Api.Infrastructure;
using Siov.Fast.Iommu;

namespace Siov.Fast.Api.Apis;

/// <summary>Id lookups that answer 400 for a malformed id and 404 for an unknown one.</summary>
internal static class Lookup
{
    public static bool Device(PlatformState state, string? bdf, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PciDevice? device,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out ProblemHttpResult? problem)
    {
        device = null;
        problem = null;
        if (!PciAddress.TryParse(bdf, out PciAddress address))
        {
            problem = Problems.Invalid($"device '{bdf}' is not a PCI address (SSSS:BB:DD.F or BB:DD.F)");
            return false;
        }
        device = state.Platform.Core.FindPciDevice(address);
        if (device == null)
            problem = Problems.NotFound($"no PCI device {address}");
        return device != null;
    }

    public static bool Domain(PlatformState state, int id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IommuDomain? domain,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out ProblemHttpResult? problem)
    {
        domain = state.Platform.Core.FindDomain(id);
        problem = domain == null ? Problems.NotFound($"no domain {id}") : null;
        return domain != null;
    }

    public static IommuGroup Group(PlatformState state, int id) =>
        state.Platform.Core.FindGroup(id) ?? throw new IommuException(Errno.ENOENT, $"no iommu group {id}");

    public static PciDevice DeviceOrThrow(PlatformState state, string? bdf, string field = "device") =>
        state.Platform.Core.FindPciDevice(Hex.ParseDevice(bdf, field)) ?? throw new IommuException(Errno.ENOENT, $"no PCI device {bdf}");
}
