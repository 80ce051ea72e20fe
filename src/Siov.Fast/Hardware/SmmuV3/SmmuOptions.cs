using Siov.Fast.Caching;

namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>An SMMUv3's ID registers and the model's settings.</summary>
public sealed record SmmuOptions
{
    /// <summary>SMMU_IDR0. Default: S2P, S1P, TTF AArch64, COHACC, ATS, ASID16, MSI, VMID16, CD2L, 2-level stream tables; not
    /// PRI, since the model has no PRI queue.</summary>
    public uint Idr0 { get; init; } = (uint)(SmmuRegisters.Idr0Fields.Stage2.Encode(1) | SmmuRegisters.Idr0Fields.Stage1.Encode(1)
        | SmmuRegisters.Idr0Fields.TableFormats.Encode(2) | SmmuRegisters.Idr0Fields.CoherentAccess.Encode(1)
        | SmmuRegisters.Idr0Fields.Ats.Encode(1) | SmmuRegisters.Idr0Fields.Asid16.Encode(1) | SmmuRegisters.Idr0Fields.Msi.Encode(1)
        | SmmuRegisters.Idr0Fields.Vmid16.Encode(1)
        | SmmuRegisters.Idr0Fields.TwoLevelCdTables.Encode(1) | SmmuRegisters.Idr0Fields.StreamTableLevels.Encode(1));

    /// <summary>SMMU_IDR1. Default: 16 StreamID bits, 20 SubstreamID bits, event and command queues of up to 2^19 entries.</summary>
    public uint Idr1 { get; init; } = (uint)(SmmuRegisters.Idr1Fields.StreamIdSize.Encode(16) | SmmuRegisters.Idr1Fields.SubstreamIdSize.Encode(20)
        | SmmuRegisters.Idr1Fields.EventQueueSize.Encode(19) | SmmuRegisters.Idr1Fields.CommandQueueSize.Encode(19));

    /// <summary>SMMU_IDR3. Default: RIL (range invalidation), as SMMUv3.2 and later implement it.</summary>
    public uint Idr3 { get; init; } = (uint)SmmuRegisters.Idr3Fields.RangeInvalidation.Encode(1);

    /// <summary>SMMU_IDR5. Default: 48-bit output addresses, the 4 KiB granule.</summary>
    public uint Idr5 { get; init; } = (uint)(SmmuRegisters.Idr5Fields.OutputAddressSize.Encode(5) | SmmuRegisters.Idr5Fields.Granule4K.Encode(1));

    /// <summary>The physical address of the register region (the IORT SMMUv3 node's base address), which names the SMMU in
    /// messages. Default 0x09050000, where QEMU's <c>virt</c> machine puts its SMMUv3.</summary>
    public ulong RegisterBase { get; init; } = 0x0905_0000;

    /// <summary>TLB entries wanted (the shared IOTLB structure, tagged by VMID and ASID). Default 65,536.</summary>
    public int TlbCapacity { get; init; } = 65536;

    /// <summary>The TLB's probe. Default <see cref="IotlbProbePath.Auto"/>.</summary>
    public IotlbProbePath TlbProbePath { get; init; } = IotlbProbePath.Auto;

    /// <summary>How long a CMD_SYNC waits for a function to answer an ATS invalidation request (CMD_ATC_INV) before it
    /// fails with CERROR_ATC_INV_SYNC (PCIe's invalidation completion timeout is one minute). Default 60 s; at least 1 ms.</summary>
    public TimeSpan AtcInvalidationTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The clock of that timeout (a fake one in tests). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The defaults.</summary>
    public static SmmuOptions Default { get; } = new();
}
