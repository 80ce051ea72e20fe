namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>
/// A stream table entry (Arm IHI 0070, 5.2): 64 bytes, eight words; the fields the model reads are defined once here.
/// Config: 000b abort, 100b bypass, 101b stage 1, 110b stage 2, 111b both (nested); 001b-011b are reserved.
/// </summary>
/// <param name="Word0">Bits 63:0.</param>
/// <param name="Word1">Bits 127:64.</param>
/// <param name="Word2">Bits 191:128.</param>
/// <param name="Word3">Bits 255:192.</param>
public readonly record struct StreamTableEntry(ulong Word0, ulong Word1, ulong Word2, ulong Word3)
{
    /// <summary>Bytes per entry.</summary>
    public const int Size = 64;

    /// <summary>V, word 0 bit 0.</summary>
    public static readonly RegisterField ValidField = new(0, 1);

    /// <summary>Config, word 0 bits 3:1.</summary>
    public static readonly RegisterField ConfigField = new(1, 3);

    /// <summary>S1Fmt, word 0 bits 5:4: 0 linear CD table, 1 2-level with 4 KiB leaf tables (256 CDs), 2 2-level with 64 KiB
    /// leaf tables (1,024 CDs).</summary>
    public static readonly RegisterField S1FormatField = new(4, 2);

    /// <summary>S1ContextPtr, word 0 bits 51:6.</summary>
    public static readonly RegisterField S1ContextPointerField = new(6, 46);

    /// <summary>S1CDMax, word 0 bits 63:59: the CD table has 2^S1CDMax entries (0: one CD, no SubstreamIDs).</summary>
    public static readonly RegisterField S1CdMaxField = new(59, 5);

    /// <summary>S1DSS, word 1 bits 1:0: a transaction without SubstreamID when S1CDMax is not 0: 00 terminate, 01 bypass
    /// stage 1, 10 use CD 0.</summary>
    public static readonly RegisterField S1DefaultSubstreamField = new(0, 2);

    /// <summary>EATS, word 1 bits 29:28: ATS translation requests allowed (01 full, 10 split-stage).</summary>
    public static readonly RegisterField EatsField = new(28, 2);

    /// <summary>S2VMID, word 2 bits 15:0.</summary>
    public static readonly RegisterField S2VmidField = new(0, 16);

    /// <summary>S2T0SZ, word 2 bits 37:32: the IPA size is 64 - S2T0SZ bits.</summary>
    public static readonly RegisterField S2T0SzField = new(32, 6);

    /// <summary>S2SL0, word 2 bits 39:38: with the 4 KiB granule, 0 start at level 2, 1 at level 1, 2 at level 0.</summary>
    public static readonly RegisterField S2Sl0Field = new(38, 2);

    /// <summary>S2TG, word 2 bits 47:46: granule, 0 for 4 KiB (the only one modelled).</summary>
    public static readonly RegisterField S2TgField = new(46, 2);

    /// <summary>S2PS, word 2 bits 50:48: output size, as SMMU_IDR5.OAS encodes it.</summary>
    public static readonly RegisterField S2PsField = new(48, 3);

    /// <summary>S2AA64, word 2 bit 51: AArch64 tables (required here).</summary>
    public static readonly RegisterField S2AArch64Field = new(51, 1);

    /// <summary>S2AFFD, word 2 bit 53: access flag faults disabled at stage 2.</summary>
    public static readonly RegisterField S2AffdField = new(53, 1);

    /// <summary>S2TTB, word 3 bits 51:4.</summary>
    public static readonly RegisterField S2TtbField = new(4, 48);

    /// <summary>The EATS values: 0b00 ATS translation requests and translated transactions are refused, 0b01 full ATS
    /// (the SMMU answers with the whole translation), 0b10 split-stage ATS (not modelled: treated as 0b00).</summary>
    public const int EatsNone = 0, EatsFull = 1, EatsSplitStage = 2;

    /// <summary>The Config values.</summary>
    public const int ConfigAbort = 0, ConfigBypass = 4, ConfigStage1 = 5, ConfigStage2 = 6, ConfigNested = 7;

    /// <summary>V.</summary>
    public bool IsValid => ValidField.IsSet(Word0);

    /// <summary>Config.</summary>
    public int Config => (int)ConfigField.Get(Word0);

    /// <summary>Stage 1 on (Config 101b or 111b).</summary>
    public bool Stage1 => Config is ConfigStage1 or ConfigNested;

    /// <summary>Stage 2 on (Config 110b or 111b).</summary>
    public bool Stage2 => Config is ConfigStage2 or ConfigNested;

    /// <summary>S1Fmt.</summary>
    public int S1Format => (int)S1FormatField.Get(Word0);

    /// <summary>S1ContextPtr (the CD table, or the level-1 CD table).</summary>
    public ulong S1ContextPointer => Word0 & S1ContextPointerField.Mask;

    /// <summary>S1CDMax.</summary>
    public int S1CdMax => (int)S1CdMaxField.Get(Word0);

    /// <summary>S1DSS.</summary>
    public int S1DefaultSubstream => (int)S1DefaultSubstreamField.Get(Word1);

    /// <summary>S2VMID.</summary>
    public ushort Vmid => (ushort)S2VmidField.Get(Word2);

    /// <summary>S2TTB.</summary>
    public ulong S2Ttb => Word3 & S2TtbField.Mask;

    /// <summary>Builds an entry.</summary>
    /// <param name="config">Config.</param>
    /// <param name="cdTable">S1ContextPtr.</param>
    /// <param name="cdMax">S1CDMax.</param>
    /// <param name="s1Format">S1Fmt.</param>
    /// <param name="defaultSubstream">S1DSS.</param>
    /// <param name="vmid">S2VMID.</param>
    /// <param name="s2Ttb">S2TTB.</param>
    /// <param name="s2InputBits">The IPA size (64 - S2T0SZ).</param>
    /// <param name="s2StartLevel">The stage 2 start level (0-2).</param>
    /// <param name="s2OutputSizeEncoding">S2PS.</param>
    /// <param name="eats">EATS.</param>
    /// <returns>The entry, valid.</returns>
    public static StreamTableEntry Create(int config, ulong cdTable = 0, int cdMax = 0, int s1Format = 0, int defaultSubstream = 0,
        ushort vmid = 0, ulong s2Ttb = 0, int s2InputBits = 48, int s2StartLevel = 0, int s2OutputSizeEncoding = 5, int eats = 0) =>
        new(ValidField.Encode(1) | ConfigField.Encode((ulong)config) | S1FormatField.Encode((ulong)s1Format)
                | (cdTable & S1ContextPointerField.Mask) | S1CdMaxField.Encode((ulong)cdMax),
            S1DefaultSubstreamField.Encode((ulong)defaultSubstream) | EatsField.Encode((ulong)eats),
            (config is ConfigStage2 or ConfigNested)
                ? S2VmidField.Encode(vmid) | S2T0SzField.Encode((ulong)(64 - s2InputBits)) | S2Sl0Field.Encode((ulong)(2 - s2StartLevel))
                    | S2PsField.Encode((ulong)s2OutputSizeEncoding) | S2AArch64Field.Encode(1)
                : S2VmidField.Encode(vmid),
            s2Ttb & S2TtbField.Mask);
}
