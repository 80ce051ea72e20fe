using System.Collections.Concurrent;
using Siov.Fast.Api.Durability;
using Siov.Fast.Api.Mdevctl;
using Siov.Fast.Platforms;
using Siov.Fast.Vfio;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>
/// The server's one modelled platform, the VFIO containers created over HTTP, and the two gates every
/// control-plane call passes: <see cref="ControlLock"/> serializes object-model calls (and their GETs, so each
/// answer is one consistent snapshot); <see cref="BatchGate"/> bounds the large batch calls in flight.
/// Translation takes neither.
/// </summary>
internal sealed class PlatformState(ModelledPlatform platform, ServerLimits limits) : IDisposable
{
    private int _nextContainer;

    public ModelledPlatform Platform { get; } = platform;

    public ServerLimits Limits { get; } = limits;

    /// <summary>The durable journal of mutating calls, attached after the restore; null when ephemeral.</summary>
    public StateJournal? Journal { get; set; }

    public ConcurrentDictionary<int, VfioContainer> Containers { get; } = new();

    /// <summary>Open iommufd contexts by id.</summary>
    public ConcurrentDictionary<int, Siov.Fast.Iommufd.IommufdContext> IommufdContexts { get; } = new();

    private int _nextIommufd;

    /// <summary>Opens an iommufd context (the same limit as containers: Siov:Limits:MaxContainers, ENOSPC).</summary>
    public (int Id, Siov.Fast.Iommufd.IommufdContext Context) OpenIommufd()
    {
        if (IommufdContexts.Count >= Limits.MaxContainers)
            throw new IommuException(Errno.ENOSPC, $"the limit of {Limits.MaxContainers} open iommufd contexts (Siov:Limits:MaxContainers) is reached; close one first");
        int id = Interlocked.Increment(ref _nextIommufd);
        var context = new Siov.Fast.Iommufd.IommufdContext(Platform.Core);
        IommufdContexts[id] = context;
        return (id, context);
    }

    /// <summary>Closes and forgets a context; false when there is none with that id.</summary>
    public bool CloseIommufd(int id)
    {
        if (!IommufdContexts.TryRemove(id, out Siov.Fast.Iommufd.IommufdContext? context))
            return false;
        context.Dispose();
        return true;
    }

    /// <summary>The functions whose page requests the server sends, by address (made on first use, under
    /// <see cref="ControlLock"/>).</summary>
    public Dictionary<PciAddress, SimulatedFunction> SimulatedFunctions { get; } = [];

    /// <summary>mdevctl's defined mdevs, by UUID (read and changed under <see cref="ControlLock"/>).</summary>
    public SortedDictionary<Guid, MdevDefinition> MdevDefinitions { get; } = [];

    /// <summary>Held by every object-model call (domains, groups, devices, mdevs, containers), reads included.</summary>
    public SemaphoreSlim ControlLock { get; } = new(1, 1);

    /// <summary>Held while a batch body is read and worked on; <see cref="ServerLimits.MaxBatchesInFlight"/> slots.</summary>
    public SemaphoreSlim BatchGate { get; } = new(limits.MaxBatchesInFlight, limits.MaxBatchesInFlight);

    /// <summary>Opens a container, named "container N" (its owner name in errors and GETs).</summary>
    /// <exception cref="IommuException">ENOSPC when <see cref="ServerLimits.MaxContainers"/> are open.</exception>
    public (int Id, VfioContainer Container) CreateContainer()
    {
        if (Containers.Count >= Limits.MaxContainers)
            throw new IommuException(Errno.ENOSPC, $"the limit of {Limits.MaxContainers} open containers (Siov:Limits:MaxContainers) is reached; close one first");
        int id = Interlocked.Increment(ref _nextContainer);
        var container = new VfioContainer(Platform.Core, $"container {id}") { DmaEntryLimit = Limits.MaxContainerMappings };
        Containers[id] = container;
        return (id, container);
    }

    /// <summary>Closes and forgets a container; false when there is none with that id.</summary>
    public bool CloseContainer(int id)
    {
        if (!Containers.TryRemove(id, out VfioContainer? container))
            return false;
        container.Dispose(); // cannot fail: detaches every group, frees the container's domains
        return true;
    }

    public void Dispose()
    {
        foreach (VfioContainer container in Containers.Values)
            container.Dispose();
        foreach (Siov.Fast.Iommufd.IommufdContext context in IommufdContexts.Values)
            context.Dispose();
        Platform.Dispose();
        Journal?.Dispose();
        ControlLock.Dispose();
        BatchGate.Dispose();
    }
}
