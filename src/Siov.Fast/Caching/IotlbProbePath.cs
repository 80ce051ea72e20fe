namespace Siov.Fast.Caching;

/// <summary>Which code compares the tags of an IOTLB set.</summary>
public enum IotlbProbePath
{
    /// <summary>The widest path the processor accelerates: Vector256, else Vector128, else scalar.</summary>
    Auto = 0,

    /// <summary>One 256-bit compare of the set's first half-line (version and three tags; AVX2).</summary>
    Vector256,

    /// <summary>Two 128-bit compares (SSE4.1 or Arm AdvSIMD).</summary>
    Vector128,

    /// <summary>A plain loop over the ways.</summary>
    Scalar,
}
