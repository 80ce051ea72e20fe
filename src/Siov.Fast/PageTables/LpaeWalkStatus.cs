namespace Siov.Fast.PageTables;

/// <summary>How an AArch64 table walk ended; the faults are the SMMUv3 event a transaction gets (IHI 0070, 7.3).</summary>
public enum LpaeWalkStatus : byte
{
    /// <summary>Translated.</summary>
    Success = 0,

    /// <summary>F_TRANSLATION: an invalid descriptor, a block where none may be, or an input address beyond the range
    /// the configuration covers.</summary>
    Translation,

    /// <summary>F_ADDR_SIZE: an output or table address beyond the configured output size.</summary>
    AddressSize,

    /// <summary>F_ACCESS: a descriptor without AF while access flag faults are enabled.</summary>
    AccessFlag,

    /// <summary>F_PERMISSION: the access is not allowed (write to read-only, unprivileged to privileged-only, execute
    /// where XN).</summary>
    Permission,

    /// <summary>F_WALK_EABT: a table descriptor points outside memory.</summary>
    ExternalAbort,
}
