namespace Siov.Fast.Ats;

/// <summary>How a <see cref="DeviceTlb"/> answered a translation.</summary>
public enum AtcOutcome
{
    /// <summary>The ATC held a translation that permits the access.</summary>
    Hit,

    /// <summary>A miss: a translation request was answered with one that permits the access, and the ATC keeps it.</summary>
    Filled,

    /// <summary>The translation completion granted nothing (R = W = 0): the page is not there; the function may send a
    /// page request.</summary>
    NotPresent,

    /// <summary>The completion granted less than the access (e.g. read only for a write); the function may send a page
    /// request for the access.</summary>
    Denied,

    /// <summary>The translation request failed (UR or CA): the function may not use ATS there.</summary>
    Unsuccessful,
}
