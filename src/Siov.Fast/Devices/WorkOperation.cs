namespace Siov.Fast.Devices;

/// <summary>What a work descriptor asks the <see cref="Accelerator"/> to do (a subset of a data-streaming accelerator's
/// operations).</summary>
public enum WorkOperation
{
    /// <summary>Copy <see cref="WorkDescriptor.Size"/> bytes from the source to the destination.</summary>
    MemoryMove,

    /// <summary>Write the 8-byte pattern over <see cref="WorkDescriptor.Size"/> bytes of the destination.</summary>
    Fill,
}
