namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>Event record types (Arm IHI 0070, 7.3): the EventID, word 0 bits 7:0.</summary>
public enum SmmuEventType : byte
{
    /// <summary>No event (a transaction that did not fault).</summary>
    None = 0x00,

    /// <summary>C_BAD_STREAMID: the StreamID is beyond the stream table, or its level-1 descriptor is invalid.</summary>
    BadStreamId = 0x02,

    /// <summary>F_STE_FETCH: the STE could not be read.</summary>
    SteFetch = 0x03,

    /// <summary>C_BAD_STE: the STE is invalid (V clear) or malformed.</summary>
    BadSte = 0x04,

    /// <summary>F_BAD_ATS_TREQ: an ATS translation request for a stream whose STE does not allow ATS (EATS other than
    /// 0b01, or Config abort or bypass); it is answered with UR.</summary>
    BadAtsTranslationRequest = 0x05,

    /// <summary>F_STREAM_DISABLED: a transaction without SubstreamID met S1DSS = terminate.</summary>
    StreamDisabled = 0x06,

    /// <summary>F_TRANSL_FORBIDDEN: a translated (ATS) transaction, with SMMU_CR0.ATSCHK set, from a stream whose STE does
    /// not allow ATS.</summary>
    TranslationForbidden = 0x07,

    /// <summary>C_BAD_SUBSTREAMID: a SubstreamID the STE does not allow, or an invalid level-1 CD descriptor.</summary>
    BadSubstreamId = 0x08,

    /// <summary>F_CD_FETCH: the CD could not be read.</summary>
    CdFetch = 0x09,

    /// <summary>C_BAD_CD: the CD is invalid (V clear) or malformed.</summary>
    BadCd = 0x0A,

    /// <summary>F_WALK_EABT: a table walk read outside memory.</summary>
    WalkExternalAbort = 0x0B,

    /// <summary>F_TRANSLATION: no translation (an invalid descriptor, an address beyond the configured range).</summary>
    Translation = 0x10,

    /// <summary>F_ADDR_SIZE: an address beyond the configured output size.</summary>
    AddressSize = 0x11,

    /// <summary>F_ACCESS: AF clear and access flag faults enabled.</summary>
    Access = 0x12,

    /// <summary>F_PERMISSION: the access is not allowed.</summary>
    Permission = 0x13,
}
