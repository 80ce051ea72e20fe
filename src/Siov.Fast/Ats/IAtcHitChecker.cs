namespace Siov.Fast.Ats;

/// <summary>
/// A translation agent whose invalidation sanitizer checks the hits of the ATCs connected to it (a VT-d unit or an SMMUv3
/// with its sanitizer on): a <see cref="DeviceTlb"/> hands it every hit it answers, and the agent compares it with its
/// tables in memory and names the ATS invalidation that is missing.
/// </summary>
internal interface IAtcHitChecker
{
    /// <summary>True while the sanitizer is on: hits must be handed over one at a time (no pipelined batch).</summary>
    bool ChecksAtcHits { get; }

    /// <summary>Checks one ATC hit against memory.</summary>
    /// <param name="request">The request the ATC answered (the function's requester id or StreamID).</param>
    /// <param name="cached">What the ATC answered.</param>
    void CheckAtcHit(in DmaRequest request, TranslationResult cached);
}
