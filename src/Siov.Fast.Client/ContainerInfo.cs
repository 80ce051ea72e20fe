namespace Siov.Fast.Client;

/// <summary>A VFIO type1 container (<c>GET /containers/{id}</c>).</summary>
/// <param name="Id">Its id.</param>
/// <param name="Groups">Its groups.</param>
/// <param name="Domains">Its domains.</param>
/// <param name="Mappings">Its DMA mappings.</param>
public sealed record ContainerInfo(int Id, IReadOnlyList<int> Groups, IReadOnlyList<int> Domains, IReadOnlyList<Mapping> Mappings);
