using System.Collections.Concurrent;
using Siov.Fast.Platforms;
using Siov.Fast.Vfio;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>The server's one modelled platform and the VFIO containers created over HTTP.</summary>
internal sealed class PlatformState(ModelledPlatform platform) : IDisposable
{
    private int _nextContainer;

    public ModelledPlatform Platform { get; } = platform;

    public ConcurrentDictionary<int, VfioContainer> Containers { get; } = new();

    public (int Id, VfioContainer Container) CreateContainer()
    {
        int id = Interlocked.Increment(ref _nextContainer);
        var container = new VfioContainer(Platform.Core);
        Containers[id] = container;
        return (id, container);
    }

    public void Dispose()
    {
        foreach (VfioContainer container in Containers.Values)
            container.Dispose();
        Platform.Dispose();
    }
}
