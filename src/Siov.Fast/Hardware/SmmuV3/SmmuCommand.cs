namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>Command opcodes and fields (Arm IHI 0070, 4.1-4.7): 16-byte commands, the opcode in word 0 bits 7:0.</summary>
public static class SmmuCommand
{
    /// <summary>Bytes per command.</summary>
    public const int Size = 16;

    /// <summary>CMD_PREFETCH_CONFIG.</summary>
    public const int PrefetchConfig = 0x01;

    /// <summary>CMD_PREFETCH_ADDR.</summary>
    public const int PrefetchAddress = 0x02;

    /// <summary>CMD_CFGI_STE: the STE of SID (and its CDs).</summary>
    public const int CfgiSte = 0x03;

    /// <summary>CMD_CFGI_STE_RANGE: 2^(Range + 1) STEs from SID aligned down; Range 31 is CMD_CFGI_ALL.</summary>
    public const int CfgiSteRange = 0x04;

    /// <summary>CMD_CFGI_CD: the CD of (SID, SSID).</summary>
    public const int CfgiCd = 0x05;

    /// <summary>CMD_CFGI_CD_ALL: every CD of SID.</summary>
    public const int CfgiCdAll = 0x06;

    /// <summary>CMD_TLBI_NH_ALL: every stage 1 entry of VMID.</summary>
    public const int TlbiNhAll = 0x10;

    /// <summary>CMD_TLBI_NH_ASID: the entries of (VMID, ASID).</summary>
    public const int TlbiNhAsid = 0x11;

    /// <summary>CMD_TLBI_NH_VA: the entries of (VMID, ASID) for one address (a range with NUM and SCALE).</summary>
    public const int TlbiNhVa = 0x12;

    /// <summary>CMD_TLBI_S12_VMALL: every entry of VMID.</summary>
    public const int TlbiS12Vmall = 0x28;

    /// <summary>CMD_TLBI_S2_IPA: the stage-2-only entries of VMID for an IPA.</summary>
    public const int TlbiS2Ipa = 0x2A;

    /// <summary>CMD_TLBI_NSNH_ALL: every non-secure, non-hypervisor entry.</summary>
    public const int TlbiNsnhAll = 0x30;

    /// <summary>CMD_ATC_INV: an ATS invalidation request to the function of SID (with SubstreamID SSID when SSV; Global;
    /// a range from Size and Address); CMD_SYNC waits for its answer.</summary>
    public const int AtcInv = 0x40;

    /// <summary>CMD_SYNC: completes when every earlier command has; optionally signals (CS) with an MSI write.</summary>
    public const int Sync = 0x46;

    /// <summary>Opcode, word 0 bits 7:0.</summary>
    public static readonly RegisterField Opcode = new(0, 8);

    /// <summary>SSV, word 0 bit 11 (ATC_INV: the SubstreamID is valid).</summary>
    public static readonly RegisterField SubstreamValid = new(11, 1);

    /// <summary>Global, word 0 bit 9 (ATC_INV with SSV: entries of every SubstreamID in the range go).</summary>
    public static readonly RegisterField AtcGlobal = new(9, 1);

    /// <summary>SubstreamID, word 0 bits 31:12 (CFGI_CD, ATC_INV).</summary>
    public static readonly RegisterField SubstreamId = new(12, 20);

    /// <summary>StreamID, word 0 bits 63:32 (CFGI_*, ATC_INV).</summary>
    public static readonly RegisterField StreamId = new(32, 32);

    /// <summary>VMID, word 0 bits 47:32 (TLBI_*).</summary>
    public static readonly RegisterField Vmid = new(32, 16);

    /// <summary>ASID, word 0 bits 63:48 (TLBI_NH_ASID, TLBI_NH_VA).</summary>
    public static readonly RegisterField Asid = new(48, 16);

    /// <summary>Leaf, word 1 bit 0 (CFGI_STE, CFGI_CD, TLBI_NH_VA, TLBI_S2_IPA).</summary>
    public static readonly RegisterField Leaf = new(0, 1);

    /// <summary>NUM, word 0 bits 16:12 of TLBI_NH_VA and TLBI_S2_IPA: with a nonzero <see cref="TlbiGranule"/>, the range
    /// is (NUM + 1) * 2^SCALE granules (SMMU_IDR3.RIL).</summary>
    public static readonly RegisterField TlbiNum = new(12, 5);

    /// <summary>SCALE, word 0 bits 24:20 of TLBI_NH_VA and TLBI_S2_IPA (range invalidation).</summary>
    public static readonly RegisterField TlbiScale = new(20, 5);

    /// <summary>TTL, word 1 bits 9:8 of TLBI_NH_VA and TLBI_S2_IPA: the level of the leaves invalidated, 0 for any
    /// (a hint the model does not need).</summary>
    public static readonly RegisterField TlbiTtl = new(8, 2);

    /// <summary>TG, word 1 bits 11:10 of TLBI_NH_VA and TLBI_S2_IPA: the range's granule, 0 for no range (one address),
    /// 1 for 4 KiB, 2 for 16 KiB, 3 for 64 KiB.</summary>
    public static readonly RegisterField TlbiGranule = new(10, 2);

    /// <summary>Range, word 1 bits 4:0 (CFGI_STE_RANGE).</summary>
    public static readonly RegisterField Range = new(0, 5);

    /// <summary>Address, word 1 bits 63:12 (TLBI_NH_VA, TLBI_S2_IPA: bits 51:12, ATC_INV).</summary>
    public static readonly RegisterField Address = new(12, 52);

    /// <summary>Size, word 1 bits 5:0 of CMD_ATC_INV: the range is 2^Size 4 KiB pages at Address (aligned to it; lower
    /// address bits are ignored); <see cref="AtcSizeAll"/> is the whole address space, larger values are illegal.</summary>
    public static readonly RegisterField AtcSize = new(0, 6);

    /// <summary>The Size of a CMD_ATC_INV for every address (Linux's <c>ATC_INV_SIZE_ALL</c>): 2^52 pages of 4 KiB.</summary>
    public const int AtcSizeAll = 52;

    /// <summary>CS, word 0 bits 13:12 of CMD_SYNC: 0 none, 1 IRQ (an MSI write of MSIData to MSIAddr where MSIs exist), 2 SEV.</summary>
    public static readonly RegisterField SyncCompletionSignal = new(12, 2);

    /// <summary>MSIData, word 0 bits 63:32 of CMD_SYNC.</summary>
    public static readonly RegisterField SyncMsiData = new(32, 32);

    /// <summary>MSIAddr, word 1 bits 51:2 of CMD_SYNC.</summary>
    public static readonly RegisterField SyncMsiAddress = new(2, 50);
}
