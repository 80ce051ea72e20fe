using Siov.Fast.Ats;
using Siov.Fast.Caching;
using Siov.Fast.Drivers.IntelVtd;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Workloads;

/// <summary>
/// A remapping unit set up for one standard workload: simulated memory sized for the
/// workload's page tables, a scalable-mode unit (<see cref="UnitPresets.ScalableCapability"/>),
/// one 4-level second-level table per domain holding the workload's mapping, and the
/// requester 01:00.0 attached: with one domain through RID_PASID (its primary domain), with
/// more through PASID <c>d + 1</c> per domain (auxiliary domains, DID <c>d + 1</c>).
/// </summary>
/// <remarks>Building cold4k maps 1,048,576 pages one by one (about 2,060 table pages, 8 MiB);
/// it takes a second or so. Dispose after every translating thread has stopped.</remarks>
public sealed class WorkloadPlatform : IDisposable
{
    /// <summary>Table pages reserved beyond the workload's own, for the unit's tables and for
    /// callers that map more (the load tool's churn writer).</summary>
    public const int SpareTablePages = 1024;

    private readonly SecondLevelPageTable[] _tables;

    private WorkloadPlatform(StandardWorkload workload, PhysicalMemory memory, RemappingUnit unit, SecondLevelPageTable[] tables)
    {
        Workload = workload;
        Memory = memory;
        Unit = unit;
        _tables = tables;
    }

    /// <summary>The workload.</summary>
    public StandardWorkload Workload { get; }

    /// <summary>The simulated memory holding every table.</summary>
    public PhysicalMemory Memory { get; }

    /// <summary>The remapping unit.</summary>
    public RemappingUnit Unit { get; }

    /// <summary>The second-level table of each domain, by domain index.</summary>
    public IReadOnlyList<SecondLevelPageTable> Tables => _tables;

    /// <summary>Builds the platform: memory, unit, tables, mappings and attachments.</summary>
    /// <param name="workload">The workload.</param>
    /// <param name="options">Unit settings (IOTLB size, probe path); <see cref="RemappingUnitOptions.Default"/> when null.</param>
    /// <param name="translation">Second level (PGTT 010b, the default), first level (PGTT 001b, IA-32e tables, 4 levels) or
    /// nested (PGTT 011b: those first-level tables over an identity second stage); the workload's results, and so its
    /// checksum, are the same.</param>
    /// <param name="ats">Enable ATS for the requester (DTE in its context entry), so that a <see cref="DeviceTlb"/> from
    /// <see cref="CreateDeviceTlb"/> can translate the workload through translation requests.</param>
    /// <returns>The platform, ready to translate the workload's requests.</returns>
    /// <exception cref="IommuException">ENOMEM when the host cannot provide the memory.</exception>
    public static WorkloadPlatform Create(StandardWorkload workload, RemappingUnitOptions? options = null,
        WorkloadTranslation translation = WorkloadTranslation.SecondLevel, bool ats = false)
    {
        ArgumentNullException.ThrowIfNull(workload);
        long frames = workload.TablePagesPerDomain() * workload.Domains + SpareTablePages;
        var memory = new PhysicalMemory((ulong)frames * VtdPaging.PageSize);
        RemappingUnit? unit = null;
        var tables = new List<SecondLevelPageTable>(workload.Domains);
        try
        {
            unit = new RemappingUnit(memory, UnitPresets.ScalableCapability, UnitPresets.ScalableExtendedCapability, options);
            IntelIommu? driver = null;
            SecondLevelPageTable? stage2 = null;
            // Nested: stage-1 tables in the first-level format over one identity stage-2 table.
            bool nested = translation == WorkloadTranslation.Nested;
            PageTableStage stage = translation == WorkloadTranslation.SecondLevel ? PageTableStage.SecondLevel : PageTableStage.FirstLevel;
            var format = new SecondLevelFormat { Levels = 4, HostAddressWidth = unit.Options.HostAddressWidth, Stage = stage };
            for (int d = 0; d < workload.Domains; d++)
            {
                var table = new SecondLevelPageTable(memory, format);
                tables.Add(table);
                for (int i = 0; i < workload.PagesPerDomain; i++)
                    table.Map(workload.IovaOf(i), workload.HpaOf(d, i), workload.PageSize, DmaProtection.ReadWrite);
                // Taken in charge after the first table is built, so the tables sit where they always did in memory.
                if (driver == null)
                {
                    driver = new IntelIommu(unit, memory, unit.Options.HostAddressWidth, unit.Options.ScalableMode);
                    if (ats)
                        driver.EnableDeviceAts(StandardWorkload.RequesterId, pageRequests: false);
                }
                if (nested)
                {
                    // Stage 2 maps every GPA the stage-1 table uses (its own pages and the workload's pages) to the same HPA.
                    if (stage2 == null)
                    {
                        stage2 = IdentityStage2(workload, memory, unit.Options.HostAddressWidth);
                        tables.Add(stage2);
                    }
                    driver.SetupPasidNested(StandardWorkload.RequesterId, workload.PasidOf(d) ?? 0, StandardWorkload.DomainIdOf(d), table, stage2);
                }
                else if (workload.UsesPasid)
                {
                    driver.SetDevicePasid(StandardWorkload.RequesterId, workload.PasidOf(d)!.Value, StandardWorkload.DomainIdOf(d), table);
                }
                else
                {
                    driver.AttachDevice(StandardWorkload.RequesterId, StandardWorkload.DomainIdOf(d), table);
                }
            }
            return new WorkloadPlatform(workload, memory, unit, [.. tables]);
        }
        catch
        {
            unit?.Dispose();
            foreach (SecondLevelPageTable table in tables)
                table.Dispose();
            memory.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An ATC for the workload's requester (01:00.0), connected to the unit: a device model's DMA engine that translates
    /// the workload from its device-TLB and asks the unit (ATS translation requests) on a miss. Needs a platform created
    /// with ATS. The caller disposes it before the platform.
    /// </summary>
    /// <param name="capacity">ATC entries wanted (rounded up like the IOTLB's).</param>
    /// <returns>The ATC.</returns>
    /// <exception cref="IommuException">EEXIST when the requester has an ATC already; EINVAL for a bad capacity.</exception>
    public DeviceTlb CreateDeviceTlb(int capacity = Iotlb.DefaultCapacity) => new(Unit, StandardWorkload.RequesterId, capacity);


    /// <summary>
    /// Translates the first <paramref name="requests"/> requests of worker thread
    /// <paramref name="thread"/>'s stream through the batch API and returns their checksum and
    /// fault count. The reference loop: tools may drive the unit their own way, but must agree with it.
    /// </summary>
    /// <param name="seed">The run's seed.</param>
    /// <param name="thread">Worker thread number (the stream starts at <c>seed + thread</c>).</param>
    /// <param name="requests">Requests to translate.</param>
    /// <param name="batch">Requests per batch call, at least 1.</param>
    /// <returns>The wrapping sum of the translated HPAs and the number of faults.</returns>
    public (ulong Checksum, long Faults) Run(ulong seed, int thread, long requests, int batch = 256) =>
        Workload.Run(Unit.Translate, seed, thread, requests, batch);

    /// <summary>Frees the unit, the tables and the memory.</summary>
    public void Dispose()
    {
        Unit.Dispose();
        foreach (SecondLevelPageTable table in _tables)
            table.Dispose();
        Memory.Dispose();
    }

    /// <summary>A second-level table mapping, with 1 GiB leaves, every 1 GiB region that holds the memory's table pages or
    /// one of the workload's pages onto itself.</summary>
    private static SecondLevelPageTable IdentityStage2(StandardWorkload workload, PhysicalMemory memory, int hostAddressWidth)
    {
        var table = new SecondLevelPageTable(memory, new SecondLevelFormat { Levels = 4, HostAddressWidth = hostAddressWidth });
        var regions = new SortedSet<ulong>();
        for (ulong hpa = memory.BaseHpa & ~((1UL << 30) - 1); hpa < memory.BaseHpa + memory.Size; hpa += 1UL << 30)
            regions.Add(hpa);
        for (int d = 0; d < workload.Domains; d++)
        {
            for (int i = 0; i < workload.PagesPerDomain; i++)
                regions.Add(workload.HpaOf(d, i) & ~((1UL << 30) - 1));
        }
        foreach (ulong region in regions)
            table.Map(region, region, 1UL << 30, DmaProtection.ReadWrite);
        return table;
    }
}
