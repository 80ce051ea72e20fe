using Siov.Fast.Caching;

namespace Siov.Fast.Devices;

/// <summary>Settings of an <see cref="Accelerator"/>.</summary>
public sealed record AcceleratorOptions
{
    /// <summary>ATC entries (rounded up to a power-of-two number of 3-way sets). Default 4,096.</summary>
    public int AtcCapacity { get; init; } = 4096;

    /// <summary>The ATC's set probe. Default <see cref="IotlbProbePath.Auto"/>.</summary>
    public IotlbProbePath AtcProbePath { get; init; } = IotlbProbePath.Auto;

    /// <summary>Whether the function sends page requests (its PRI capability enabled) when a page is not there; without
    /// it such a descriptor completes with <see cref="CompletionStatus.PageFault"/>. Default true.</summary>
    public bool PageRequests { get; init; } = true;

    /// <summary>How long a work queue waits for a page group response before it gives up with a page fault. Default 10 s.</summary>
    public TimeSpan PageResponseTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Page requests a work queue sends for one page before it gives up (a host that answers success but does not
    /// map the page). Default 4.</summary>
    public int PageRequestRetries { get; init; } = 4;

    /// <summary>The defaults.</summary>
    public static AcceleratorOptions Default { get; } = new();
}
