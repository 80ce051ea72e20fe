using Siov.Fast.Drivers.ArmSmmuV3;
using Siov.Fast.Hardware.SmmuV3;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Workloads;

/// <summary>
/// A standard workload on an SMMUv3 instead of a VT-d unit (<c>siov-load --iommu smmuv3</c>): the same mappings in
/// AArch64 stage 1 tables (4 levels), one per domain, set up by the arm-smmu-v3 driver: CD 0 of StreamID 01:00.0 for the
/// workloads without PASIDs, the CD at SubstreamID d + 1 for siov64, each with ASID d + 1. The requests and so the
/// checksum are the workload's own; the layout does not depend on the page-table format.
/// </summary>
public sealed class SmmuWorkloadPlatform : IDisposable
{
    private readonly SecondLevelPageTable[] _tables;

    private SmmuWorkloadPlatform(StandardWorkload workload, PhysicalMemory memory, Smmu smmu, SecondLevelPageTable[] tables)
    {
        Workload = workload;
        Memory = memory;
        Smmu = smmu;
        _tables = tables;
    }

    /// <summary>The workload.</summary>
    public StandardWorkload Workload { get; }

    /// <summary>The simulated memory holding the tables.</summary>
    public PhysicalMemory Memory { get; }

    /// <summary>The SMMU.</summary>
    public Smmu Smmu { get; }

    /// <summary>The stage 1 table of each domain.</summary>
    public IReadOnlyList<SecondLevelPageTable> Tables => _tables;

    /// <summary>Builds the platform: memory, SMMU, driver, tables, mappings, CDs and the STE.</summary>
    /// <param name="workload">The workload.</param>
    /// <param name="options">The SMMU's settings; <see cref="SmmuOptions.Default"/> when null.</param>
    /// <returns>The platform.</returns>
    /// <exception cref="IommuException">ENOMEM when the host cannot provide the memory.</exception>
    public static SmmuWorkloadPlatform Create(StandardWorkload workload, SmmuOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(workload);
        // Tables, plus the driver's stream table, queues and CD tables (a level-1 CD table of 4,096 entries, leaves of 16 KiB).
        long frames = workload.TablePagesPerDomain() * workload.Domains + WorkloadPlatform.SpareTablePages + 64;
        var memory = new PhysicalMemory((ulong)frames * VtdPaging.PageSize);
        Smmu? smmu = null;
        var tables = new List<SecondLevelPageTable>(workload.Domains);
        try
        {
            smmu = new Smmu(memory, options);
            var driver = new ArmSmmuV3Driver(smmu, memory);
            var format = new SecondLevelFormat { Stage = PageTableStage.ArmStage1, Levels = 4, HostAddressWidth = 48 };
            if (workload.UsesPasid)
            {
                // PASID domains are CDs in the stream's CD table, whose CD 0 is its own (here empty) stage 1 domain, as aux domains are.
                var parent = new SecondLevelPageTable(memory, format);
                tables.Add(parent);
                driver.AttachDevice(StandardWorkload.RequesterId, StandardWorkload.DomainIdOf(workload.Domains), parent);
            }
            for (int d = 0; d < workload.Domains; d++)
            {
                var table = new SecondLevelPageTable(memory, format);
                tables.Add(table);
                for (int i = 0; i < workload.PagesPerDomain; i++)
                    table.Map(workload.IovaOf(i), workload.HpaOf(d, i), workload.PageSize, DmaProtection.ReadWrite);
                ushort asid = StandardWorkload.DomainIdOf(d);
                if (workload.PasidOf(d) is uint pasid)
                    driver.SetDevicePasid(StandardWorkload.RequesterId, pasid, asid, table);
                else
                    driver.AttachDevice(StandardWorkload.RequesterId, asid, table);
            }
            return new SmmuWorkloadPlatform(workload, memory, smmu, [.. tables]);
        }
        catch
        {
            smmu?.Dispose();
            foreach (SecondLevelPageTable table in tables)
                table.Dispose();
            memory.Dispose();
            throw;
        }
    }

    /// <summary>Translates the first <paramref name="requests"/> requests of thread <paramref name="thread"/>'s stream and
    /// returns their checksum and fault count, as <see cref="WorkloadPlatform.Run"/> does on VT-d.</summary>
    /// <param name="seed">The run's seed.</param>
    /// <param name="thread">Worker thread number.</param>
    /// <param name="requests">Requests to translate.</param>
    /// <param name="batch">Requests per batch call, at least 1.</param>
    /// <returns>The wrapping sum of the translated HPAs and the number of faults.</returns>
    public (ulong Checksum, long Faults) Run(ulong seed, int thread, long requests, int batch = 256) =>
        Workload.Run(Smmu.Translate, seed, thread, requests, batch);

    /// <summary>Frees the SMMU's TLB, the tables and the memory.</summary>
    public void Dispose()
    {
        Smmu.Dispose();
        foreach (SecondLevelPageTable table in _tables)
            table.Dispose();
        Memory.Dispose();
    }
}
