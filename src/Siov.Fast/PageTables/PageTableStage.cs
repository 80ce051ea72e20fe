namespace Siov.Fast.PageTables;

/// <summary>Which of VT-d's two entry formats a table the builder makes is written in.</summary>
public enum PageTableStage
{
    /// <summary>Second level (VT-d spec 9.8): R and W per entry, no present bit; walked with PGTT 010b, legacy context
    /// entries and as the second stage of nesting.</summary>
    SecondLevel = 0,

    /// <summary>First level (VT-d spec 9.7, IA-32e): P, R/W and U/S; walked with PGTT 001b. Tables have 4 or 5 levels;
    /// every entry the builder writes has P and U/S (a DMA mapping is a user mapping, as Linux writes them), and a
    /// write-only mapping is written readable too (an IA-32e entry cannot refuse reads of a present page).</summary>
    FirstLevel = 1,
}
