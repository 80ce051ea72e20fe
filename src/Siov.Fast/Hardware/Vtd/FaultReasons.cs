namespace Siov.Fast.Hardware.Vtd;

/// <summary>The text Linux prints for each fault reason (<c>dmar_get_fault_reason</c>).</summary>
public static class FaultReasons
{
    /// <summary>The description Linux prints after <c>[fault reason 0xNN]</c>; "Unknown" for a code it does not name.</summary>
    /// <param name="reason">The fault reason code.</param>
    /// <returns>The description.</returns>
    public static string Describe(FaultReason reason) => reason switch
    {
        FaultReason.None => "Software",
        FaultReason.RootEntryNotPresent => "Present bit in root entry is clear",
        FaultReason.ContextEntryNotPresent => "Present bit in context entry is clear",
        FaultReason.InvalidContextEntry => "Invalid context entry",
        FaultReason.AccessBeyondMgaw => "Access beyond MGAW",
        FaultReason.PteWriteAccessNotSet => "PTE Write access is not set",
        FaultReason.PteReadAccessNotSet => "PTE Read access is not set",
        FaultReason.NextPageTablePointerInvalid => "Next page table ptr is invalid",
        FaultReason.RootTableAddressInvalid => "Root table address invalid",
        FaultReason.ContextTablePointerInvalid => "Context table ptr is invalid",
        FaultReason.RootEntryReservedBits => "non-zero reserved fields in RTP",
        FaultReason.ContextEntryReservedBits => "non-zero reserved fields in CTP",
        FaultReason.PteReservedBits => "non-zero reserved fields in PTE",
        FaultReason.TranslationBlocked => "PCE for translation request specifies blocking",
        FaultReason.SmInvalidRootTableAddress => "SM: Invalid Root Table Address",
        FaultReason.SmLegacyModeRequestWithPasid => "SM: TTM 0 for request with PASID",
        FaultReason.SmRootEntryAccessError => "SM: Error attempting to access Root Entry",
        FaultReason.SmRootEntryNotPresent => "SM: Present bit in Root Entry is clear",
        FaultReason.SmRootEntryReservedBits => "SM: Non-zero reserved field set in Root Entry",
        FaultReason.SmContextEntryAccessError => "SM: Error attempting to access Context Entry",
        FaultReason.SmContextEntryNotPresent => "SM: Present bit in Context Entry is clear",
        FaultReason.SmContextEntryReservedBits => "SM: Non-zero reserved field set in the Context Entry",
        FaultReason.SmInvalidContextEntry => "SM: Invalid Context Entry",
        FaultReason.SmPasidNotEnabled => "SM: PASID Enable field in Context Entry is clear",
        FaultReason.SmPasidTooLarge => "SM: PASID is larger than the max in Context Entry",
        FaultReason.SmPasidDirectoryAccessError => "SM: Error attempting to access the PASID Directory Entry",
        FaultReason.SmPasidDirectoryNotPresent => "SM: Present bit in Directory Entry is clear",
        FaultReason.SmPasidDirectoryReservedBits => "SM: Non-zero reserved field set in PASID Directory Entry",
        FaultReason.SmPasidEntryAccessError => "SM: Error attempting to access PASID Table Entry",
        FaultReason.SmPasidEntryNotPresent => "SM: Present bit in PASID Table Entry is clear",
        FaultReason.SmPasidEntryReservedBits => "SM: Non-zero reserved field set in PASID Table Entry",
        FaultReason.SmInvalidPasidEntry => "SM: Invalid Scalable-Mode PASID Table Entry",
        FaultReason.SmExecuteRequestsNotEnabled => "SM: ERE field is clear in PASID Table Entry",
        FaultReason.SmSupervisorRequestsNotEnabled => "SM: SRE field is clear in PASID Table Entry",
        FaultReason.SmFirstLevelAccessError => "SM: Error attempting to access first-level paging entry",
        FaultReason.SmFirstLevelNotPresent => "SM: Present bit in first-level paging entry is clear",
        FaultReason.SmFirstLevelReservedBits => "SM: Non-zero reserved field set in first-level paging entry",
        FaultReason.SmNestedFirstLevelBeyondWidth => "SM: First-level entry address beyond MGAW in Nested translation",
        FaultReason.SmNestedFirstLevelRootReadDenied => "SM: Read permission error in FL-PML4 entry in Nested translation",
        FaultReason.SmNestedFirstLevelReadDenied => "SM: Read permission error in first-level paging entry in Nested translation",
        FaultReason.SmNestedFirstLevelWriteDenied => "SM: Write permission error in first-level paging entry in Nested translation",
        FaultReason.SmNonCanonicalAddress => "SM: Address in first-level translation is not canonical",
        FaultReason.SmUserAccessDenied => "SM: U/S set 0 for first-level translation with user privilege",
        FaultReason.SmNoExecutePermission => "SM: No execute permission for request with PASID and ER=1",
        FaultReason.SmSecondLevelAccessError => "SM: Error attempting to access second-level paging entry",
        FaultReason.SmSecondLevelNotPresent => "SM: Read/Write permission error in second-level paging entry",
        FaultReason.SmSecondLevelReservedBits => "SM: Non-zero reserved field set in second-level paging entry",
        FaultReason.SmAddressBeyondWidth => "SM: Address beyond the DMA hardware max",
        FaultReason.SmNoWritePermission => "SM: No write permission for Write/AtomicOp request",
        FaultReason.SmNoReadPermission => "SM: No read permission for Read/AtomicOp request",
        _ => "Unknown",
    };
}
