namespace Siov.Fast.Platforms;

/// <summary>
/// The memory access properties of a named component or root complex node (ARM DEN 0049E.e,
/// "Memory access properties"): 8 bytes, Cache Coherent Attribute 0-3, Allocation Hints 4, Reserved 5-6,
/// Memory Access Flags 7.
/// </summary>
/// <param name="CacheCoherency">Cache Coherent Attribute (CCA): 1 the device is fully coherent, 0 it is not.</param>
/// <param name="AllocationHints">Allocation hints: bit 0 transient, 1 write-allocate, 2 read-allocate, 3 override.</param>
/// <param name="MemoryAccessFlags">Memory access flags: bit 0 coherent path to memory (CPM), bit 1 device attributes
/// are cacheable and inner shareable (DACS), bit 2 ensured coherency of accesses.</param>
public sealed record IortMemoryAccess(uint CacheCoherency, byte AllocationHints, byte MemoryAccessFlags)
{
    /// <summary>The device is fully cache coherent (CCA = 1).</summary>
    public bool CacheCoherent => CacheCoherency == 1;

    /// <summary>Coherent path to memory (memory access flags bit 0, CPM).</summary>
    public bool CoherentPathToMemory => (MemoryAccessFlags & 1) != 0;

    /// <summary>Device attributes are cacheable and inner shareable (memory access flags bit 1, DACS).</summary>
    public bool DeviceAttributesCacheableShareable => (MemoryAccessFlags & 2) != 0;

    internal static IortMemoryAccess Read(TableReader r, int at) => new(
        IortLayout.MemoryAccess.CacheCoherency.U32(r, at),
        IortLayout.MemoryAccess.AllocationHints.U8(r, at),
        IortLayout.MemoryAccess.MemoryAccessFlags.U8(r, at));
}
