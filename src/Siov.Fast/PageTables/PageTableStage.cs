namespace Siov.Fast.PageTables;

/// <summary>Which entry format a table the builder makes is written in: VT-d's two, or AArch64's two stages (SMMUv3).</summary>
public enum PageTableStage
{
    /// <summary>Second level (VT-d spec 9.8): R and W per entry, no present bit; walked with PGTT 010b, legacy context
    /// entries and as the second stage of nesting.</summary>
    SecondLevel = 0,

    /// <summary>First level (VT-d spec 9.7, IA-32e): P, R/W and U/S; walked with PGTT 001b. Tables have 4 or 5 levels;
    /// every entry the builder writes has P and U/S (a DMA mapping is a user mapping, as Linux writes them), and a
    /// write-only mapping is written readable too (an IA-32e entry cannot refuse reads of a present page).</summary>
    FirstLevel = 1,

    /// <summary>AArch64 VMSAv8-64 stage 1, 4 KiB granule (Arm ARM D8; what an SMMUv3 CD's TTB0 points at): tables of 3 or
    /// 4 levels (39- or 48-bit input), bits 1:0 = 11 for tables and pages, 01 for blocks, every leaf with AF, AP[1] (an
    /// unprivileged mapping, as Linux's io-pgtable-arm writes DMA mappings), AP[2] for a read-only one, UXN and PXN.</summary>
    ArmStage1 = 2,

    /// <summary>AArch64 VMSAv8-64 stage 2, 4 KiB granule (an SMMUv3 STE's S2TTB): as <see cref="ArmStage1"/>, with S2AP
    /// (bit 6 read, bit 7 write) and XN in the leaves.</summary>
    ArmStage2 = 3,
}
