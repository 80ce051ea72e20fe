namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// VT-d non-recoverable fault reason codes, as recorded in the FR field of a fault record
/// (VT-d spec section 7.1.3 and appendix on fault reasons): 01h-0Dh in legacy mode, 30h-90h
/// in scalable mode. <see cref="None"/> means the request did not fault.
/// </summary>
public enum FaultReason : byte
{
    /// <summary>No fault.</summary>
    None = 0x00,

    // Legacy mode (root table with TTM = 00b).

    /// <summary>01h: the present bit of the root entry is clear.</summary>
    RootEntryNotPresent = 0x01,
    /// <summary>02h: the present bit of the context entry is clear.</summary>
    ContextEntryNotPresent = 0x02,
    /// <summary>03h: the context entry is invalid (translation type, address width or pass-through not supported).</summary>
    InvalidContextEntry = 0x03,
    /// <summary>04h: the address is beyond the address width of the context entry (or MGAW).</summary>
    AccessBeyondMgaw = 0x04,
    /// <summary>05h: a write request met a second-level entry without write permission (or not present).</summary>
    PteWriteAccessNotSet = 0x05,
    /// <summary>06h: a read request met a second-level entry without read permission (or not present).</summary>
    PteReadAccessNotSet = 0x06,
    /// <summary>07h: a second-level table pointer could not be accessed.</summary>
    NextPageTablePointerInvalid = 0x07,
    /// <summary>08h: the root table address could not be accessed.</summary>
    RootTableAddressInvalid = 0x08,
    /// <summary>09h: the context table pointer in the root entry could not be accessed.</summary>
    ContextTablePointerInvalid = 0x09,
    /// <summary>0Ah: reserved bits set in the root entry.</summary>
    RootEntryReservedBits = 0x0A,
    /// <summary>0Bh: reserved bits set in the context entry.</summary>
    ContextEntryReservedBits = 0x0B,
    /// <summary>0Ch: reserved bits set in a second-level paging entry.</summary>
    PteReservedBits = 0x0C,
    /// <summary>0Dh: the translation type of the context entry blocks the request.</summary>
    TranslationBlocked = 0x0D,

    // Scalable mode (root table with TTM = 01b); the legacy root table's answer to a request with a PASID.

    /// <summary>30h: the root table address could not be accessed.</summary>
    SmInvalidRootTableAddress = 0x30,
    /// <summary>31h: a request with a PASID reached a legacy-mode (TTM = 00b) root table.</summary>
    SmLegacyModeRequestWithPasid = 0x31,
    /// <summary>32h: a page request reached a legacy-mode (TTM = 00b) root table.</summary>
    SmLegacyModePageRequest = 0x32,
    /// <summary>38h: the root entry could not be accessed.</summary>
    SmRootEntryAccessError = 0x38,
    /// <summary>39h: the present bit of the (lower or upper) scalable-mode root entry is clear.</summary>
    SmRootEntryNotPresent = 0x39,
    /// <summary>3Ah: reserved bits set in the scalable-mode root entry.</summary>
    SmRootEntryReservedBits = 0x3A,
    /// <summary>40h: the scalable-mode context entry could not be accessed.</summary>
    SmContextEntryAccessError = 0x40,
    /// <summary>41h: the present bit of the scalable-mode context entry is clear.</summary>
    SmContextEntryNotPresent = 0x41,
    /// <summary>42h: reserved bits set in the scalable-mode context entry.</summary>
    SmContextEntryReservedBits = 0x42,
    /// <summary>43h: the scalable-mode context entry is invalid.</summary>
    SmInvalidContextEntry = 0x43,
    /// <summary>44h: a translation request or translated request met a context entry whose DTE field is clear.</summary>
    SmDeviceTlbDisabled = 0x44,
    /// <summary>45h: a request with a PASID met a context entry whose PASIDE field is clear.</summary>
    SmPasidNotEnabled = 0x45,
    /// <summary>46h: the PASID is larger than the PASID directory of the context entry allows.</summary>
    SmPasidTooLarge = 0x46,
    /// <summary>47h: a page request met a context entry whose PRE field is clear.</summary>
    SmPageRequestDisabled = 0x47,
    /// <summary>50h: the PASID directory entry could not be accessed.</summary>
    SmPasidDirectoryAccessError = 0x50,
    /// <summary>51h: the present bit of the PASID directory entry is clear.</summary>
    SmPasidDirectoryNotPresent = 0x51,
    /// <summary>52h: reserved bits set in the PASID directory entry.</summary>
    SmPasidDirectoryReservedBits = 0x52,
    /// <summary>58h: the PASID table entry could not be accessed.</summary>
    SmPasidEntryAccessError = 0x58,
    /// <summary>59h: the present bit of the PASID table entry is clear.</summary>
    SmPasidEntryNotPresent = 0x59,
    /// <summary>5Ah: reserved bits set in the PASID table entry.</summary>
    SmPasidEntryReservedBits = 0x5A,
    /// <summary>5Bh: the PASID table entry is invalid (PGTT or AW not supported).</summary>
    SmInvalidPasidEntry = 0x5B,
    /// <summary>5Ch: an execute request met a PASID entry whose ERE is clear.</summary>
    SmExecuteRequestsNotEnabled = 0x5C,
    /// <summary>5Dh: a privileged (supervisor) request met a PASID entry whose SRE is clear.</summary>
    SmSupervisorRequestsNotEnabled = 0x5D,
    /// <summary>70h: a first-level paging entry could not be accessed.</summary>
    SmFirstLevelAccessError = 0x70,
    /// <summary>71h: the present bit of a first-level paging entry is clear.</summary>
    SmFirstLevelNotPresent = 0x71,
    /// <summary>72h: reserved bits set in a first-level paging entry.</summary>
    SmFirstLevelReservedBits = 0x72,
    /// <summary>74h: nested translation: a first-level entry's address is beyond the second stage's width.</summary>
    SmNestedFirstLevelBeyondWidth = 0x74,
    /// <summary>75h: nested translation: the second stage does not map the FL-PML4 (or PML5) table readable.</summary>
    SmNestedFirstLevelRootReadDenied = 0x75,
    /// <summary>76h: nested translation: the second stage does not map a first-level table readable.</summary>
    SmNestedFirstLevelReadDenied = 0x76,
    /// <summary>77h: nested translation: setting A or D needs the second stage's write permission on the table.</summary>
    SmNestedFirstLevelWriteDenied = 0x77,
    /// <summary>78h: a second-level paging entry could not be accessed.</summary>
    SmSecondLevelAccessError = 0x78,
    /// <summary>79h: R and W of a second-level paging entry are both clear (not present).</summary>
    SmSecondLevelNotPresent = 0x79,
    /// <summary>7Ah: reserved bits set in a second-level paging entry.</summary>
    SmSecondLevelReservedBits = 0x7A,
    /// <summary>80h: the input address of a first-level translation is not canonical.</summary>
    SmNonCanonicalAddress = 0x80,
    /// <summary>81h: a user request met U/S = 0 in a first-level entry.</summary>
    SmUserAccessDenied = 0x81,
    /// <summary>82h: an execute request without execute permission (XD with NXE, or SMEP).</summary>
    SmNoExecutePermission = 0x82,
    /// <summary>83h: the address is beyond the address width of the PASID entry (or MGAW).</summary>
    SmAddressBeyondWidth = 0x83,
    /// <summary>85h: a write request without write permission.</summary>
    SmNoWritePermission = 0x85,
    /// <summary>86h: a read request without read permission.</summary>
    SmNoReadPermission = 0x86,
}
