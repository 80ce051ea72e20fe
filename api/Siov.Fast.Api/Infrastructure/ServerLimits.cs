using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>
/// The server's limits, <see cref="SiovOptions.Limits"/>, bound from the <c>Siov:Limits</c> configuration section (<c>--Siov:Limits:MaxDomains=128</c>,
/// <c>SIOV__Limits__MaxDomains=128</c>, appsettings.json) and validated at start. They bound what one client can take
/// from the others: domains, containers, page-table memory, request bodies and large requests in flight.
/// </summary>
internal sealed class ServerLimits
{
    /// <summary>Most domains allocated through the API (with <c>POST /domains</c> or by containers) alive at once;
    /// groups' default domains do not count. One more answers 409 ENOSPC. Default 64.</summary>
    [Range(1, 1 << 20)]
    public int MaxDomains { get; set; } = 64;

    /// <summary>Most VFIO containers open at once; one more answers 409 ENOSPC. Default 64.</summary>
    [Range(1, 1 << 20)]
    public int MaxContainers { get; set; } = 64;

    /// <summary>Most 4 KiB page-table pages any paging domain (a group's default domain too) may hold, its top-level page included; a map that needs
    /// more answers 409 ENOSPC. Default 512 (2 MiB of tables: 1 GiB mapped in 4 KiB pages, 512 GiB in 2 MiB pages);
    /// 64 domains at the limit hold half of the default platform's 256 MiB of table memory.</summary>
    [Range(1, int.MaxValue)]
    public int MaxTablePagesPerDomain { get; set; } = 512;

    /// <summary>Most DMA mappings one container may hold (vfio_iommu_type1's dma_entry_limit). Default 65535.</summary>
    [Range(1, int.MaxValue)]
    public int MaxContainerMappings { get; set; } = 65535;

    /// <summary>Largest request body of an ordinary call, in bytes; a larger declared Content-Length answers 413 E2BIG
    /// before the body is read. Default 64 KiB.</summary>
    [Range(1024, 1 << 30)]
    public int MaxBodyBytes { get; set; } = 64 << 10;

    /// <summary>Largest JSON body of a batch call (<c>/translate/batch</c>, <c>/domains/{id}/mappings/batch</c>), in
    /// bytes. Default 8 MiB: 65,536 records of up to 128 bytes.</summary>
    [Range(1024, 1 << 30)]
    public int MaxBatchBodyBytes { get; set; } = 8 << 20;

    /// <summary>Batch calls whose bodies are read and worked on at once; more wait (without their bodies being read)
    /// until one ends or their client goes away. Default 4.</summary>
    /// <summary>Most objects (IOAS, devices, HWPTs) one iommufd context holds; more answer ENOSPC.</summary>
    [Range(1, 1 << 16)]
    public int MaxIommufdObjects { get; set; } = 1024;

    /// <summary>Most mdev definitions (mdevctl's defined devices) the server keeps; more answer ENOSPC.</summary>
    [Range(1, 1 << 16)]
    public int MaxMdevDefinitions { get; set; } = 1024;

    [Range(1, 1024)]
    public int MaxBatchesInFlight { get; set; } = 4;
}
