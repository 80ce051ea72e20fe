namespace Siov.Fast.Hardware.Vtd;

/// <summary>The cache a stale translation came from (VT-d's, and an SMMUv3's: its TLB is <see cref="Iotlb"/>).</summary>
public enum StaleCache
{
    /// <summary>The IOTLB: a cached leaf that memory no longer holds.</summary>
    Iotlb = 0,

    /// <summary>The PASID cache: a cached PASID entry (or RID_PASID entry) that memory no longer holds.</summary>
    PasidCache = 1,

    /// <summary>The context cache: a cached context entry that memory no longer holds.</summary>
    ContextCache = 2,

    /// <summary>A function's ATC: a translation it holds that memory no longer gives, after the driver invalidated the
    /// IOTLB (or, on SMMUv3, the TLB or configuration cache) but sent the function no device-TLB invalidation
    /// (CMD_ATC_INV).</summary>
    DeviceTlb = 3,

    /// <summary>An SMMUv3's configuration cache: a cached STE that memory no longer holds (CMD_CFGI_STE missing).</summary>
    StreamTableEntryCache = 4,

    /// <summary>An SMMUv3's configuration cache: a cached CD that memory no longer holds (CMD_CFGI_CD missing).</summary>
    ContextDescriptorCache = 5,
}
