namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// A scalable-mode 256-bit context entry (VT-d spec section 9.4), 128 per 4 KiB context table.
/// </summary>
/// <remarks>
/// Qword 0: <see cref="PresentField"/>, <see cref="FaultProcessingDisableField"/>, <see cref="DeviceTlbEnableField"/>,
/// <see cref="PasidEnableField"/>, <see cref="PageRequestEnableField"/>, <see cref="ReservedQ0Field"/>,
/// <see cref="PasidDirectorySizeField"/> (the PASID directory has 2^(PDTS + 7) entries), PASIDDIRPTR
/// (<see cref="RootEntry.PointerField"/>). Qword 1: <see cref="RidPasidField"/>, <see cref="RidPrivilegedField"/>,
/// <see cref="ReservedQ1Field"/>. Qwords 2 and 3 are reserved.
/// </remarks>
/// <param name="Q0">Bits 63:0.</param>
/// <param name="Q1">Bits 127:64.</param>
public readonly record struct ScalableContextEntry(ulong Q0, ulong Q1)
{
    /// <summary>Size of an entry in bytes.</summary>
    public const int Size = 32;

    /// <summary>P, qword 0 bit 0.</summary>
    public static readonly RegisterField PresentField = new(0, 1);

    /// <summary>FPD, qword 0 bit 1.</summary>
    public static readonly RegisterField FaultProcessingDisableField = new(1, 1);

    /// <summary>DTE, qword 0 bit 2: device-TLB (ATS) enable.</summary>
    public static readonly RegisterField DeviceTlbEnableField = new(2, 1);

    /// <summary>PASIDE, qword 0 bit 3: requests with a PASID are allowed.</summary>
    public static readonly RegisterField PasidEnableField = new(3, 1);

    /// <summary>PRE, qword 0 bit 4: page requests (PRI) enabled.</summary>
    public static readonly RegisterField PageRequestEnableField = new(4, 1);

    /// <summary>Qword 0 bits 8:5: reserved.</summary>
    public static readonly RegisterField ReservedQ0Field = new(5, 4);

    /// <summary>PDTS, qword 0 bits 11:9: PASID directory table size.</summary>
    public static readonly RegisterField PasidDirectorySizeField = new(9, 3);

    /// <summary>RID_PASID, qword 1 bits 19:0: the PASID of requests without one.</summary>
    public static readonly RegisterField RidPasidField = new(0, 20);

    /// <summary>RID_PRIV, qword 1 bit 20: requests without PASID are privileged.</summary>
    public static readonly RegisterField RidPrivilegedField = new(20, 1);

    /// <summary>Qword 1 bits 63:21: reserved.</summary>
    public static readonly RegisterField ReservedQ1Field = new(21, 43);

    /// <summary>Reserved bits of qword 0 (below the pointer), in place.</summary>
    public static readonly ulong ReservedQ0Bits = ReservedQ0Field.Mask;

    /// <summary>Reserved bits of qword 1, in place.</summary>
    public static readonly ulong ReservedQ1Bits = ReservedQ1Field.Mask;

    /// <summary>Builds a present entry.</summary>
    /// <param name="pasidDirectory">PASIDDIRPTR, 4 KiB aligned.</param>
    /// <param name="pdts">PDTS, 0-7.</param>
    /// <param name="ridPasid">RID_PASID: the PASID that requests without a PASID use.</param>
    /// <param name="deviceTlb">DTE: device-TLB (ATS) enabled.</param>
    /// <param name="pasidEnable">PASIDE: requests with a PASID are allowed.</param>
    /// <param name="faultProcessingDisable">FPD.</param>
    /// <param name="pageRequest">PRE: page requests (PRI) accepted.</param>
    /// <returns>The entry.</returns>
    public static ScalableContextEntry Create(ulong pasidDirectory, int pdts, uint ridPasid, bool deviceTlb, bool pasidEnable, bool faultProcessingDisable = false,
        bool pageRequest = false) =>
        new((pasidDirectory & RootEntry.PointerMask) | PasidDirectorySizeField.Encode((uint)pdts)
                | PasidEnableField.Encode(pasidEnable ? 1UL : 0) | DeviceTlbEnableField.Encode(deviceTlb ? 1UL : 0)
                | PageRequestEnableField.Encode(pageRequest ? 1UL : 0)
                | FaultProcessingDisableField.Encode(faultProcessingDisable ? 1UL : 0) | PresentField.Encode(1),
            RidPasidField.Encode(ridPasid));

    /// <summary>P: present.</summary>
    public bool IsPresent => PresentField.IsSet(Q0);

    /// <summary>FPD: fault processing disable.</summary>
    public bool FaultProcessingDisable => FaultProcessingDisableField.IsSet(Q0);

    /// <summary>DTE: device-TLB enable.</summary>
    public bool DeviceTlbEnable => DeviceTlbEnableField.IsSet(Q0);

    /// <summary>PRE: page requests accepted.</summary>
    public bool PageRequestEnable => PageRequestEnableField.IsSet(Q0);

    /// <summary>PASIDE: requests with a PASID are allowed.</summary>
    public bool PasidEnable => PasidEnableField.IsSet(Q0);

    /// <summary>PDTS: the PASID directory has 2^(PDTS + 7) entries.</summary>
    public int PasidDirectorySize => (int)PasidDirectorySizeField.Get(Q0);

    /// <summary>PASIDDIRPTR.</summary>
    public ulong PasidDirectory => Q0 & RootEntry.PointerMask;

    /// <summary>RID_PASID.</summary>
    public uint RidPasid => (uint)RidPasidField.Get(Q1);
}
