using Siov.Fast.Caching;
using Siov.Fast.PageTables;

namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>
/// A cached configuration for one (StreamID, SubstreamID): what the STE and CD say, decoded and checked once; immutable,
/// swapped whole. <see cref="Space"/> is its TLB address space: (VMID, ASID) for stage 1, (VMID, none) for stage 2 alone.
/// <see cref="Cd"/> keeps the CD's words it was decoded from (stage 1), for the invalidation sanitizer's comparison.
/// </summary>
internal sealed class SmmuTarget(bool bypass, bool stage1, bool stage2, in LpaeStage s1, in LpaeStage s2, ushort vmid, ushort asid, IotlbSpace space,
    ContextDescriptor cd = default)
{
    public readonly ContextDescriptor Cd = cd;
    public readonly bool Bypass = bypass;
    public readonly bool Stage1 = stage1;
    public readonly bool Stage2 = stage2;
    public readonly LpaeStage S1 = s1;
    public readonly LpaeStage S2 = s2;
    public readonly ushort Vmid = vmid;
    public readonly ushort Asid = asid;
    public readonly IotlbSpace Space = space;
}
