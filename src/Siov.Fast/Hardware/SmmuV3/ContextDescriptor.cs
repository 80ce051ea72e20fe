namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>
/// A context descriptor (Arm IHI 0070, 5.4): 64 bytes; the stage 1 configuration of one SubstreamID. The fields the model
/// reads are defined once here. Only the TTB0 half of the address space is modelled (TTB1 regions fault, as with EPD1).
/// </summary>
/// <param name="Word0">Bits 63:0.</param>
/// <param name="Word1">Bits 127:64.</param>
public readonly record struct ContextDescriptor(ulong Word0, ulong Word1)
{
    /// <summary>Bytes per descriptor.</summary>
    public const int Size = 64;

    /// <summary>T0SZ, word 0 bits 5:0: the TTB0 region has 64 - T0SZ address bits.</summary>
    public static readonly RegisterField T0SzField = new(0, 6);

    /// <summary>TG0, word 0 bits 7:6: granule, 0 for 4 KiB (the only one modelled).</summary>
    public static readonly RegisterField Tg0Field = new(6, 2);

    /// <summary>EPD0, word 0 bit 14: TTB0 walks disabled (every address faults).</summary>
    public static readonly RegisterField Epd0Field = new(14, 1);

    /// <summary>V, word 0 bit 31.</summary>
    public static readonly RegisterField ValidField = new(31, 1);

    /// <summary>IPS, word 0 bits 34:32: output size, as SMMU_IDR5.OAS encodes it.</summary>
    public static readonly RegisterField IpsField = new(32, 3);

    /// <summary>AFFD, word 0 bit 35: access flag faults disabled.</summary>
    public static readonly RegisterField AffdField = new(35, 1);

    /// <summary>AA64, word 0 bit 41: AArch64 tables (required here).</summary>
    public static readonly RegisterField AArch64Field = new(41, 1);

    /// <summary>R, word 0 bit 45: record faults (events) for this context.</summary>
    public static readonly RegisterField RecordFaultsField = new(45, 1);

    /// <summary>A, word 0 bit 46: abort (rather than stall) faulting transactions.</summary>
    public static readonly RegisterField AbortField = new(46, 1);

    /// <summary>ASID, word 0 bits 63:48.</summary>
    public static readonly RegisterField AsidField = new(48, 16);

    /// <summary>TTB0, word 1 bits 51:4.</summary>
    public static readonly RegisterField Ttb0Field = new(4, 48);

    /// <summary>V.</summary>
    public bool IsValid => ValidField.IsSet(Word0);

    /// <summary>ASID.</summary>
    public ushort Asid => (ushort)AsidField.Get(Word0);

    /// <summary>TTB0.</summary>
    public ulong Ttb0 => Word1 & Ttb0Field.Mask;

    /// <summary>The TTB0 region's input address bits (64 - T0SZ).</summary>
    public int InputBits => 64 - (int)T0SzField.Get(Word0);

    /// <summary>Builds a valid AArch64, 4 KiB-granule descriptor with R and A set (as Linux's arm-smmu-v3 writes them).</summary>
    /// <param name="ttb0">The stage 1 table.</param>
    /// <param name="asid">ASID.</param>
    /// <param name="inputBits">64 - T0SZ (25-48).</param>
    /// <param name="ipsEncoding">IPS.</param>
    /// <param name="accessFlagFaultDisable">AFFD.</param>
    /// <returns>The descriptor.</returns>
    public static ContextDescriptor Create(ulong ttb0, ushort asid, int inputBits = 48, int ipsEncoding = 5, bool accessFlagFaultDisable = false) =>
        new(T0SzField.Encode((ulong)(64 - inputBits)) | ValidField.Encode(1) | IpsField.Encode((ulong)ipsEncoding)
                | AffdField.Encode(accessFlagFaultDisable ? 1UL : 0) | AArch64Field.Encode(1) | RecordFaultsField.Encode(1)
                | AbortField.Encode(1) | AsidField.Encode(asid),
            ttb0 & Ttb0Field.Mask);
}
