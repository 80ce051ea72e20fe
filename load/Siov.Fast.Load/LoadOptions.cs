using Siov.Fast.Workloads;

namespace Siov.Fast.Load;

/// <summary>How the requests reach the engine.</summary>
internal enum LoadMode
{
    /// <summary>The engine in this process, through the batch Translate API (or single calls with --batch 1).</summary>
    Inproc,

    /// <summary>The admin server's binary batch endpoint, POST /translate/batch.</summary>
    Http,

    /// <summary>No engine: one memory load per request from an array of the workload's HPAs.
    /// The lower bound a translation can approach; same checksum.</summary>
    Bare,
}

/// <summary>A load run, as parsed from the command line.</summary>
internal sealed record LoadOptions(
    StandardWorkload Workload,
    int Threads,
    long RequestsPerThread,   // 0 when --seconds is used
    double Seconds,           // 0 when --requests is used
    ulong Seed,
    LoadMode Mode,
    Uri Url,
    int Batch,
    double ChurnRate,
    long WarmupPerThread,
    int IotlbEntries,         // 0: the unit's default
    Siov.Fast.Caching.IotlbProbePath Probe,
    Siov.Fast.Workloads.WorkloadTranslation Translation,
    bool Json,
    bool Ats = false,         // translate through a device's ATC (ATS translation requests on a miss)
    int AtcEntries = 0,       // 0: the IOTLB's default size
    bool SmmuV3 = false);     // --iommu smmuv3: the workload on an SMMUv3 with AArch64 tables

/// <summary>What a run measured.</summary>
internal sealed record LoadResult(
    long Requests,
    double Seconds,
    ulong Checksum,
    long Faults,
    double? IotlbHitRate,
    double ChurnOpsPerSecond,
    int IotlbEntries = 0,
    double? AtcHitRate = null,
    LatencySummary? BatchLatency = null);
