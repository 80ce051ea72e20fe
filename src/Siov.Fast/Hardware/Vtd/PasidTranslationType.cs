namespace Siov.Fast.Hardware.Vtd;

/// <summary>Page-granular translation type (PGTT) of a PASID entry.</summary>
public enum PasidTranslationType
{
    /// <summary>001b: first-level translation only (not modelled: the entry is invalid here).</summary>
    FirstLevel = 1,

    /// <summary>010b: second-level translation only.</summary>
    SecondLevel = 2,

    /// <summary>011b: nested first- and second-level (not modelled: the entry is invalid here).</summary>
    Nested = 3,

    /// <summary>100b: pass-through; the output address is the input address.</summary>
    PassThrough = 4,
}
