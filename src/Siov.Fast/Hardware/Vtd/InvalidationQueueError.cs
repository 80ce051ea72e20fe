namespace Siov.Fast.Hardware.Vtd;

/// <summary>IQERCD_REG.IQEI values: why the invalidation queue stopped (VT-d spec, IQERCD_REG).</summary>
public enum InvalidationQueueError
{
    /// <summary>No detail recorded.</summary>
    None = 0,

    /// <summary>IQT_REG points beyond the queue.</summary>
    TailBeyondQueue = 1,

    /// <summary>A descriptor could not be read from memory.</summary>
    FetchFailed = 2,

    /// <summary>The descriptor type is not supported by this unit.</summary>
    InvalidType = 3,

    /// <summary>A reserved field is set or a field holds a reserved value.</summary>
    ReservedField = 4,

    /// <summary>The descriptor needs 256 bits but the queue holds 128-bit descriptors.</summary>
    InvalidWidth = 5,

    /// <summary>IQT_REG bit 4 is set in a queue of 256-bit descriptors.</summary>
    TailMisaligned = 6,
}
