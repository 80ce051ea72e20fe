namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>The names of SMMUv3 event records (Arm IHI 0070, 7.3), as the architecture spells them.</summary>
public static class SmmuEventTypes
{
    /// <summary>The event's mnemonic, e.g. <c>F_TRANSLATION</c>; for <see cref="Smmu.AbortWithoutEvent"/> a phrase saying
    /// the transaction was aborted without an event (STE Config abort, or GBPA.ABORT while the SMMU is disabled).</summary>
    /// <param name="type">The EventID (a faulting <see cref="TranslationResult.Fault"/> read as a byte).</param>
    /// <returns>The name; "Unknown" for an EventID the model never raises.</returns>
    public static string Describe(SmmuEventType type) => type switch
    {
        SmmuEventType.None => "none",
        SmmuEventType.BadStreamId => "C_BAD_STREAMID",
        SmmuEventType.SteFetch => "F_STE_FETCH",
        SmmuEventType.BadSte => "C_BAD_STE",
        SmmuEventType.StreamDisabled => "F_STREAM_DISABLED",
        SmmuEventType.BadSubstreamId => "C_BAD_SUBSTREAMID",
        SmmuEventType.CdFetch => "F_CD_FETCH",
        SmmuEventType.BadCd => "C_BAD_CD",
        SmmuEventType.WalkExternalAbort => "F_WALK_EABT",
        SmmuEventType.Translation => "F_TRANSLATION",
        SmmuEventType.AddressSize => "F_ADDR_SIZE",
        SmmuEventType.Access => "F_ACCESS",
        SmmuEventType.Permission => "F_PERMISSION",
        (SmmuEventType)Smmu.AbortWithoutEvent => "aborted without event (STE Config abort, or GBPA.ABORT)",
        _ => "Unknown",
    };
}
