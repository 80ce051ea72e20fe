namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// A scalable-mode 256-bit context entry (VT-d spec section 9.4), 128 per 4 KiB context table.
/// </summary>
/// <remarks>
/// Qword 0: P 0, FPD 1, DTE 2, PASIDE 3, PRE 4, reserved 8:5, PDTS 11:9 (the PASID directory
/// has 2^(PDTS + 7) entries), PASIDDIRPTR 63:12. Qword 1: RID_PASID 19:0, RID_PRIV 20, reserved
/// 63:21. Qwords 2 and 3 are reserved.
/// </remarks>
/// <param name="Q0">Bits 63:0.</param>
/// <param name="Q1">Bits 127:64.</param>
public readonly record struct ScalableContextEntry(ulong Q0, ulong Q1)
{
    /// <summary>Size of an entry in bytes.</summary>
    public const int Size = 32;

    /// <summary>Reserved bits of qword 0 (below the pointer).</summary>
    public const ulong ReservedQ0Bits = 0x1E0UL;

    /// <summary>Reserved bits of qword 1.</summary>
    public const ulong ReservedQ1Bits = 0xFFFF_FFFF_FFE0_0000UL;

    /// <summary>Builds an entry.</summary>
    /// <param name="pasidDirectory">PASIDDIRPTR, 4 KiB aligned.</param>
    /// <param name="pdts">PDTS, 0-7.</param>
    /// <param name="ridPasid">RID_PASID: the PASID that requests without a PASID use.</param>
    /// <param name="deviceTlb">DTE: device-TLB (ATS) enabled.</param>
    /// <param name="pasidEnable">PASIDE: requests with a PASID are allowed.</param>
    /// <param name="faultProcessingDisable">FPD.</param>
    /// <returns>The entry.</returns>
    public static ScalableContextEntry Create(ulong pasidDirectory, int pdts, uint ridPasid, bool deviceTlb, bool pasidEnable, bool faultProcessingDisable = false) =>
        new((pasidDirectory & RootEntry.PointerMask) | (ulong)(pdts & 7) << 9 | (pasidEnable ? 8UL : 0) | (deviceTlb ? 4UL : 0)
                | (faultProcessingDisable ? 2UL : 0) | 1,
            ridPasid & 0xFFFFF);

    /// <summary>P: present.</summary>
    public bool IsPresent => (Q0 & 1) != 0;

    /// <summary>FPD: fault processing disable.</summary>
    public bool FaultProcessingDisable => (Q0 & 2) != 0;

    /// <summary>DTE: device-TLB enable.</summary>
    public bool DeviceTlbEnable => (Q0 & 4) != 0;

    /// <summary>PASIDE: requests with a PASID are allowed.</summary>
    public bool PasidEnable => (Q0 & 8) != 0;

    /// <summary>PDTS: the PASID directory has 2^(PDTS + 7) entries.</summary>
    public int PasidDirectorySizeField => (int)(Q0 >> 9) & 7;

    /// <summary>PASIDDIRPTR.</summary>
    public ulong PasidDirectory => Q0 & RootEntry.PointerMask;

    /// <summary>RID_PASID.</summary>
    public uint RidPasid => (uint)(Q1 & 0xFFFFF);
}
