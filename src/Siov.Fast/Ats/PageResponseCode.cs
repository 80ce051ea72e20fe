namespace Siov.Fast.Ats;

/// <summary>The response code of a page request group response (PCIe PRI "PRG Response Message"; VT-d page group response
/// descriptor bits 15:12).</summary>
public enum PageResponseCode
{
    /// <summary>0000b: the pages are there now; the function retries its translation requests.</summary>
    Success = 0x0,

    /// <summary>0001b: the request cannot be served (no such page for it); the function treats its access as failed.</summary>
    InvalidRequest = 0x1,

    /// <summary>1111b: the host failed the function's page requests as a whole; the function disables its PRI.</summary>
    ResponseFailure = 0xF,
}
