namespace Siov.Fast.Hardware.Vtd;

/// <summary>The cache a stale translation came from.</summary>
public enum StaleCache
{
    /// <summary>The IOTLB: a cached leaf that memory no longer holds.</summary>
    Iotlb = 0,

    /// <summary>The PASID cache: a cached PASID entry (or RID_PASID entry) that memory no longer holds.</summary>
    PasidCache = 1,

    /// <summary>The context cache: a cached context entry that memory no longer holds.</summary>
    ContextCache = 2,

    /// <summary>A function's ATC: a translation it holds that memory no longer gives, after the driver invalidated the
    /// IOTLB but sent the function no device-TLB invalidation.</summary>
    DeviceTlb = 3,
}
