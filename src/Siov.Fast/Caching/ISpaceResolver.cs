namespace Siov.Fast.Caching;

/// <summary>How a cache's owner finds the address space of a request for <see cref="IotlbPipeline"/> (a struct, so the
/// loop is compiled for it and the lookup inlined).</summary>
internal interface ISpaceResolver
{
    /// <summary>The request's space when its translation may come from the cache; false sends it to the slow path.</summary>
    bool TryGetSpace(in DmaRequest request, out IotlbSpace space);
}
