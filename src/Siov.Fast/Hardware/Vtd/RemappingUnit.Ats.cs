using Siov.Fast.Ats;
using Siov.Fast.Caching;
using Siov.Fast.Concurrency;
using Siov.Fast.PageTables;

namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// Address Translation Services at the unit (VT-d spec 4.2): translation requests from a function's ATC, answered with
/// translation completions, and translated requests (AT = 10b), which the unit lets through without a walk when the
/// context entry allows ATS.
/// </summary>
public sealed partial class RemappingUnit
{
    /// <summary>
    /// Answers an ATS translation request (VT-d spec 4.2.3): the function asks for the translation of
    /// <see cref="DmaRequest.Iova"/> (with its PASID, privileged and execute attributes) before it caches it in its ATC.
    /// <list type="bullet">
    /// <item>The context entry must allow ATS (DTE in scalable mode, TT = 01b in legacy mode); otherwise the request is
    /// blocked: UR, with fault 44h or 0Dh recorded.</item>
    /// <item>Context and PASID entries not present, or PASIDs not enabled: UR; malformed entries or tables: CA. Both are
    /// recorded as the fault a DMA request would get (unless FPD).</item>
    /// <item>A page that is not mapped, or that the request's mode may not use (no permission, a user request to a
    /// supervisor page, beyond the table's width): success with R = W = 0 and nothing recorded; the function may then
    /// send a page request.</item>
    /// <item>Otherwise success: the leaf's page (4 KiB, 2 MiB or 1 GiB; for nesting the smaller of the stages' pages)
    /// with its R and W. A request for read only (<see cref="DmaAccess.Read"/>, PCIe's NW) gets W = 0; with SLADE or
    /// first-level tables the walk sets A, and D when write is asked for and allowed (VT-d spec 3.10: translation
    /// requests with NW clear set D). Exe and Priv echo the request's attributes when granted. U, N and Global are 0.</item>
    /// <item>While translation is off (GSTS_REG.TES clear), and for pass-through entries: the 4 KiB page at the
    /// address itself, R and W.</item>
    /// </list>
    /// The answer is not put in the IOTLB. Never throws for any request.
    /// </summary>
    /// <param name="request">The request: requester id, PASID, untranslated address and access (Read alone asks for read only).</param>
    /// <returns>The completion.</returns>
    public AtsCompletion TranslateForAts(in DmaRequest request)
    {
        ThreadCounters counters = _counters.Current;
        counters.Translations++;
        if (!_translationEnabled)
            return AtsCompletion.Success(request.Iova & ~(VtdPaging.PageSize - 1), VtdPaging.PageShift, DmaProtection.ReadWrite);
        FaultReason contextReason;
        ContextCacheEntry? context;
        using (EpochScope scope = _memory.Reclaimer.Protect())
            contextReason = ResolveContext(request, counters, Volatile.Read(ref _invalidationSequence), out context);
        if (context == null)
            return AtsFault(request, contextReason, suppress: false, counters);
        if (!context.DeviceTlbEnabled)
            return AtsFault(request, IsScalableMode ? FaultReason.SmDeviceTlbDisabled : FaultReason.TranslationBlocked,
                context.FaultProcessingDisable, counters);
        FaultReason reason = ResolveTarget(request, counters, out TranslationTarget? target, out bool suppress);
        if (target == null)
            return AtsFault(request, reason, suppress, counters);
        if (target.PassThrough)
            return AtsCompletion.Success(request.Iova & ~(VtdPaging.PageSize - 1), VtdPaging.PageShift, DmaProtection.ReadWrite);
        using (EpochScope scope = _memory.Reclaimer.Protect())
        {
            counters.PageWalks++;
            return target.FirstLevel.Enabled ? AtsFirstLevel(request, target, counters) : AtsSecondLevel(request, target, counters);
        }
    }

    private static bool WantsWrite(in DmaRequest request) => (request.Access & DmaAccess.Write) != 0;

    private AtsCompletion AtsSecondLevel(in DmaRequest request, TranslationTarget target, ThreadCounters counters)
    {
        ulong iova = request.Iova;
        int mgaw = Capability.MaximumGuestAddressWidth;
        if (mgaw < 64 && (iova >> mgaw) != 0)
            return AtsNotPresent(iova, IsScalableMode ? FaultReason.SmAddressBeyondWidth : FaultReason.AccessBeyondMgaw);
        WalkResult walk = _walker.Walk(target.Root, target.Levels, iova, DmaAccess.None);
        switch (walk.Status)
        {
            case WalkStatus.Success:
                break;
            case WalkStatus.NotPresent or WalkStatus.ReadDenied or WalkStatus.WriteDenied or WalkStatus.AddressBeyondWidth:
                return AtsNotPresent(iova, WalkFaultReason(walk.Status, request.Access));
            default:
                return AtsFault(request, WalkFaultReason(walk.Status, request.Access), target.FaultProcessingDisable, counters);
        }
        DmaProtection rights = walk.Permissions;
        bool write = WantsWrite(request) && (rights & DmaProtection.Write) != 0;
        if (target.AccessedDirty && !_walker.SetAccessedDirty(target.Root, target.Levels, iova, write))
            rights &= DmaProtection.Read; // A set, the page still clean: no write until a request asks for it
        if (!WantsWrite(request))
            rights &= DmaProtection.Read;
        int shift = VtdPaging.LevelShift(walk.Level);
        FaultReason denied = WantsWrite(request) && (rights & DmaProtection.Write) == 0 ? WalkFaultReason(WalkStatus.WriteDenied, request.Access)
            : FaultReason.None;
        return AtsCompletion.Success(walk.PageHpa, shift, rights, deniedFault: denied);
    }

    private AtsCompletion AtsFirstLevel(in DmaRequest request, TranslationTarget target, ThreadCounters counters)
    {
        DmaRequestAttributes attributes = request.Attributes;
        FirstLevelPolicy policy = target.FirstLevel;
        if ((attributes & DmaRequestAttributes.Privileged) != 0 && !policy.SupervisorRequests)
            return AtsFault(request, FaultReason.SmSupervisorRequestsNotEnabled, target.FaultProcessingDisable, counters);
        if ((attributes & DmaRequestAttributes.Execute) != 0 && !policy.ExecuteRequests)
            return AtsFault(request, FaultReason.SmExecuteRequestsNotEnabled, target.FaultProcessingDisable, counters);
        FirstLevelWalker.SecondStage stage2 = SecondStageOf(target);
        FirstLevelWalker.Mode mode = FirstLevelModeOf(request, policy);
        FirstLevelWalk walk = _firstLevelWalker.Walk(target.Root, target.Levels, request.Iova, mode, true, stage2);
        if (!walk.IsSuccess && mode.Write && IsWriteDenial(walk))
            walk = _firstLevelWalker.Walk(target.Root, target.Levels, request.Iova, mode with { Write = false }, true, stage2);
        if (!walk.IsSuccess)
        {
            return IsAbsentOrDenied(walk)
                ? AtsNotPresent(request.Iova, FirstLevelFaultReason(walk, request.Access, target.Levels))
                : AtsFault(request, FirstLevelFaultReason(walk, request.Access, target.Levels), target.FaultProcessingDisable, counters);
        }
        DmaProtection rights = FirstLevelRights(walk);
        if (!WantsWrite(request))
            rights &= DmaProtection.Read;
        FaultReason denied = mode.Write && (rights & DmaProtection.Write) == 0 ? FaultReason.SmNoWritePermission : FaultReason.None;
        return AtsCompletion.Success(walk.PageHpa, walk.PageShift, rights,
            execute: (attributes & DmaRequestAttributes.Execute) != 0, privileged: (attributes & DmaRequestAttributes.Privileged) != 0,
            deniedFault: denied);
    }

    private static bool IsWriteDenial(in FirstLevelWalk walk) =>
        walk.Status == FirstLevelWalkStatus.WriteDenied
        || (walk.Status == FirstLevelWalkStatus.NestedOutputFault && walk.SecondStageStatus == WalkStatus.WriteDenied);

    /// <summary>The page-level outcomes a completion answers with R = W = 0 rather than an error.</summary>
    private static bool IsAbsentOrDenied(in FirstLevelWalk walk) => walk.Status switch
    {
        FirstLevelWalkStatus.NotPresent or FirstLevelWalkStatus.UserDenied or FirstLevelWalkStatus.ExecuteDenied
            or FirstLevelWalkStatus.WriteDenied => true,
        FirstLevelWalkStatus.NestedOutputFault => walk.SecondStageStatus is WalkStatus.NotPresent or WalkStatus.ReadDenied
            or WalkStatus.WriteDenied or WalkStatus.AddressBeyondWidth,
        _ => false,
    };

    private static AtsCompletion AtsNotPresent(ulong iova, FaultReason wouldFault) =>
        AtsCompletion.Success(iova & ~(VtdPaging.PageSize - 1), VtdPaging.PageShift, DmaProtection.None, deniedFault: wouldFault);

    /// <summary>An unsuccessful completion: the fault recorded as for a DMA request (unless FPD), UR where an entry is
    /// absent or ATS, PASIDs or the request's mode are not enabled, CA where a table is malformed.</summary>
    private AtsCompletion AtsFault(in DmaRequest request, FaultReason reason, bool suppress, ThreadCounters counters)
    {
        Fault(request, reason, suppress, counters);
        AtsCompletionStatus status = reason switch
        {
            FaultReason.RootEntryNotPresent or FaultReason.ContextEntryNotPresent or FaultReason.TranslationBlocked
                or FaultReason.SmLegacyModeRequestWithPasid or FaultReason.SmRootEntryNotPresent or FaultReason.SmContextEntryNotPresent
                or FaultReason.SmDeviceTlbDisabled or FaultReason.SmPasidNotEnabled or FaultReason.SmPasidTooLarge
                or FaultReason.SmPasidDirectoryNotPresent or FaultReason.SmPasidEntryNotPresent
                or FaultReason.SmExecuteRequestsNotEnabled or FaultReason.SmSupervisorRequestsNotEnabled => AtsCompletionStatus.UnsupportedRequest,
            _ => AtsCompletionStatus.CompleterAbort,
        };
        return AtsCompletion.Unsuccessful(status, reason);
    }

    /// <summary>A translated request (AT = 10b, VT-d spec 4.2.4): passes with its address unchanged when the context entry
    /// allows ATS, and is blocked otherwise (44h in scalable mode, 0Dh in legacy mode), without a walk or the IOTLB.</summary>
    private TranslationResult TranslatedRequest(in DmaRequest request, ThreadCounters counters)
    {
        if (!_translationEnabled)
        {
            counters.PassThrough++;
            return new TranslationResult(request.Iova, VtdPaging.PageShift, DmaProtection.ReadWrite, FaultReason.None);
        }
        FaultReason reason;
        ContextCacheEntry? context;
        using (EpochScope scope = _memory.Reclaimer.Protect())
            reason = ResolveContext(request, counters, Volatile.Read(ref _invalidationSequence), out context);
        if (context == null)
            return Fault(request, reason, false, counters);
        if (!context.DeviceTlbEnabled)
            return Fault(request, IsScalableMode ? FaultReason.SmDeviceTlbDisabled : FaultReason.TranslationBlocked,
                context.FaultProcessingDisable, counters);
        counters.PassThrough++;
        return new TranslationResult(request.Iova, VtdPaging.PageShift, DmaProtection.ReadWrite, FaultReason.None);
    }
}
