namespace Siov.Fast.Ats;

/// <summary>When a <see cref="DeviceTlb"/> answers the invalidation requests it receives (after dropping the entries).</summary>
public enum DeviceTlbAnswers
{
    /// <summary>At once, as a healthy function does.</summary>
    Immediately,

    /// <summary>When the device model calls <see cref="DeviceTlb.AnswerPendingInvalidations"/> (a slow function).</summary>
    Deferred,

    /// <summary>Never (a hung function): the unit's invalidation wait times out.</summary>
    Never,
}
