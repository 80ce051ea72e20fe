using Siov.Fast.Caching;

namespace Siov.Fast.Hardware.Vtd;

/// <summary>Settings of a remapping unit that are not in its capability registers.</summary>
public sealed record RemappingUnitOptions
{
    /// <summary>Register base address of the unit (the DRHD's), for identification. Default 0xFED90000.</summary>
    public ulong RegisterBase { get; init; } = 0xFED9_0000;

    /// <summary>Host address width in bits from the DMAR table (32 to 52). Default 46.</summary>
    public int HostAddressWidth { get; init; } = 46;

    /// <summary>Use scalable mode (RTADDR_REG.TTM = 01b) when ECAP_REG.SMTS allows it; false forces
    /// legacy mode, as Linux's <c>intel_iommu=sm_off</c> does. Default true.</summary>
    public bool ScalableMode { get; init; } = true;

    /// <summary>IOTLB entries wanted (rounded up to a power-of-two number of 3-way sets). Default
    /// <see cref="Iotlb.DefaultCapacity"/> (262,144, giving 393,216 entries).</summary>
    public int IotlbCapacity { get; init; } = Iotlb.DefaultCapacity;

    /// <summary>IOTLB probe implementation. Default <see cref="IotlbProbePath.Auto"/>.</summary>
    public IotlbProbePath IotlbProbePath { get; init; } = IotlbProbePath.Auto;

    /// <summary>Fault records the log holds before it overflows. Real units have CAP_REG.NFR fault
    /// recording registers (often 1 to 8); set this to that value to reproduce their overflow. Default 256.</summary>
    public int FaultLogCapacity { get; init; } = 256;

    /// <summary>How long the unit waits for a function to answer a device-TLB invalidation request before it gives up
    /// with FSTS_REG.ITE (PCIe's invalidation completion timeout is one minute). Default 60 s; at least 1 ms.</summary>
    public TimeSpan DeviceTlbInvalidationTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The clock of that timeout (a fake one in tests). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The defaults.</summary>
    public static RemappingUnitOptions Default { get; } = new();
}
