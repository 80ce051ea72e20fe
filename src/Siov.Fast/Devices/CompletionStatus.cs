namespace Siov.Fast.Devices;

/// <summary>How a work descriptor ended (its completion record's status).</summary>
public enum CompletionStatus
{
    /// <summary>Every byte was moved.</summary>
    Success,

    /// <summary>A page was not there and could not be brought in: no PRI, or the host answered the page request
    /// "invalid" or "failure", or not in time. <see cref="CompletionRecord.FaultAddress"/> names it.</summary>
    PageFault,

    /// <summary>The translation agent refused the function's translation request (UR or CA), or a translated request.</summary>
    TranslationError,
}
