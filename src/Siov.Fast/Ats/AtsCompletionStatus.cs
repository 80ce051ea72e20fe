namespace Siov.Fast.Ats;

/// <summary>
/// The completion status of an ATS translation request (PCIe Base Specification, Address Translation Services:
/// a translation completion carries the status of a read completion).
/// </summary>
public enum AtsCompletionStatus
{
    /// <summary>SC (000b): successful; the data entry gives the translation, or R = W = 0 when the page is absent.</summary>
    Success = 0,

    /// <summary>UR (001b): unsupported request; the function may not use ATS here (DTE clear, an entry not present).</summary>
    UnsupportedRequest = 1,

    /// <summary>CA (100b): completer abort; the translation agent found its tables malformed (reserved bits, bad pointers).</summary>
    CompleterAbort = 4,
}
