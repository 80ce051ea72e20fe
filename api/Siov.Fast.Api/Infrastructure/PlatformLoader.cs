using Siov.Fast.Iommu;
using Siov.Fast.Platforms;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>Builds the platform the server starts on from its options.</summary>
internal static class PlatformLoader
{
    /// <summary>
    /// <c>--dmar FILE</c> (or <c>--ivrs FILE</c>) with optional <c>--lspci FILE</c> and <c>--dmesg FILE</c>
    /// loads a real platform (<see cref="ModelledPlatform.FromDescription"/>); with none, the embedded platform
    /// <c>--platform NAME</c> names (<see cref="ModelledPlatform.CreateEmbedded"/>), by default siov-demo. <c>--iort FILE</c>
    /// (with optional <c>--lspci FILE</c>) loads an Arm platform (<see cref="ModelledPlatform.FromIort"/>). Keys may also be
    /// given as <c>Siov:Dmar</c> etc.
    /// </summary>
    public static ModelledPlatform Load(SiovOptions settings, IommuCoreOptions? options = null)
    {
        string? dmar = settings.Dmar, ivrs = settings.Ivrs, lspci = settings.Lspci, dmesg = settings.Dmesg;
        if (settings.Iort is string iort)
        {
            try
            {
                return ModelledPlatform.FromIort(IortTable.Parse(File.ReadAllBytes(iort)),
                    lspci == null ? null : PciTopology.ParseLspci(File.ReadAllText(lspci)), options);
            }
            catch (Exception e) when (e is IommuException or IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"platform files (iort {iort}, lspci {lspci ?? "-"}): {e.Message}", e);
            }
        }
        if (dmar == null && ivrs == null)
        {
            if (lspci != null || dmesg != null)
                throw new InvalidOperationException("--lspci and --dmesg describe a platform given with --dmar or --ivrs; give the table too");
            return ModelledPlatform.CreateEmbedded(settings.Platform ?? ModelledPlatform.DefaultName, options);
        }
        try
        {
            PlatformDescription description = PlatformDescription.Load(
                dmar == null ? null : File.ReadAllBytes(dmar), ivrs == null ? null : File.ReadAllBytes(ivrs),
                lspci == null ? null : File.ReadAllText(lspci), dmesg == null ? null : File.ReadAllText(dmesg));
            return ModelledPlatform.FromDescription(description, options);
        }
        catch (Exception e) when (e is IommuException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"platform files (dmar {dmar ?? "-"}, ivrs {ivrs ?? "-"}, lspci {lspci ?? "-"}, dmesg {dmesg ?? "-"}): {e.Message}", e);
        }
    }
}
