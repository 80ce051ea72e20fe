using Siov.Fast.Ats;
using Siov.Fast.Concurrency;
using Siov.Fast.PageTables;
using static Siov.Fast.Hardware.SmmuV3.SmmuRegisters;

namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>
/// PCIe ATS at the SMMU (Arm IHI 0070, 3.9): translation requests from a function's ATC, answered with translation
/// completions, and translated transactions (AT = translated), which pass without a walk where the STE allows ATS.
/// </summary>
public sealed partial class Smmu
{
    /// <summary>Whether the SMMU implements ATS (SMMU_IDR0.ATS).</summary>
    public bool SupportsAts => Idr0Fields.Ats.IsSet(Options.Idr0);

    /// <summary>
    /// Answers an ATS translation request (Arm IHI 0070, 3.9.1): StreamID = <see cref="DmaRequest.RequesterId"/>,
    /// SubstreamID = the PASID, with the PASID prefix's Priv and Exe as <see cref="DmaRequest.Attributes"/>.
    /// <list type="bullet">
    /// <item>SMMU_IDR0.ATS clear, or SMMUEN clear: UR, nothing recorded.</item>
    /// <item>An STE that cannot be read or is malformed: its configuration event (C_BAD_STREAMID, F_STE_FETCH, C_BAD_STE)
    /// is recorded and the answer is CA.</item>
    /// <item>STE.EATS other than 0b01 (full ATS; split-stage 0b10 is not modelled and counts as 0b00), or an STE that
    /// does not translate (Config abort or bypass, where EATS is ignored and ATS is denied as with EATS 0b00):
    /// F_BAD_ATS_TREQ is recorded and the answer is UR.</item>
    /// <item>A SubstreamID or CD problem (C_BAD_SUBSTREAMID, F_STREAM_DISABLED, F_CD_FETCH, C_BAD_CD), or F_WALK_EABT in
    /// the walk: the event is recorded and the answer is CA.</item>
    /// <item>A page the walk does not translate for the request (F_TRANSLATION, F_ADDR_SIZE, F_ACCESS, F_PERMISSION):
    /// success with R = W = 0 and nothing recorded; the function may then send a page request.</item>
    /// <item>Otherwise success: the leaf's page (4 KiB, 2 MiB or 1 GiB; for nesting the smaller of the stages' leaves)
    /// with its R and W for the request's mode. A request for read only (<see cref="DmaAccess.Read"/>, PCIe's NW) gets
    /// W = 0; a write that the page refuses gets the read-only answer. Exe and Priv echo the request's attributes when
    /// granted; U, N and Global are 0.</item>
    /// <item>Stage 1 bypassed through S1DSS with no stage 2 ("full ATS skipping stage 1"): the 4 KiB page at the
    /// address itself, R and W.</item>
    /// </list>
    /// The configuration comes from the configuration cache as for a transaction (and fills it); the answer is not put
    /// in the TLB. <see cref="AtsCompletion.Fault"/> carries the EventID. Never throws.
    /// </summary>
    /// <param name="request">The request: StreamID, SubstreamID, untranslated address and access (Read alone asks for read only).</param>
    /// <returns>The completion.</returns>
    public AtsCompletion TranslateForAts(in DmaRequest request)
    {
        if (!SupportsAts || !Enabled)
            return AtsCompletion.Unsuccessful(AtsCompletionStatus.UnsupportedRequest, (Hardware.Vtd.FaultReason)AbortWithoutEvent);
        long sequence = Volatile.Read(ref _invalidationSequence);
        using EpochScope scope = _memory.Reclaimer.Protect();
        SmmuEventType problem = ResolveStream(request.RequesterId, sequence, out SmmuStreamCache? stream, out ulong fetchAddress);
        if (stream == null)
            return AtsFault(request, problem, fetchAddress, AtsCompletionStatus.CompleterAbort);
        if (!AllowsAts(stream.Ste))
            return AtsFault(request, SmmuEventType.BadAtsTranslationRequest, 0, AtsCompletionStatus.UnsupportedRequest);
        problem = TargetOf(stream.Ste, request, out SmmuTarget? resolved, out uint key, out fetchAddress);
        if (resolved == null)
            return AtsFault(request, problem, fetchAddress, AtsCompletionStatus.CompleterAbort);
        SmmuTarget target = CacheTarget(stream, key, resolved, sequence);
        if (target.Bypass)
            return AtsCompletion.Success(request.Iova & ~0xFFFUL, 12, DmaProtection.ReadWrite);

        bool write = (request.Access & DmaAccess.Write) != 0;
        LpaeWalker.Access access = AccessOf(request);
        LpaeWalk walk = Walk(target, request, access);
        if (!walk.IsSuccess && write && walk.Status == LpaeWalkStatus.Permission)
            walk = Walk(target, request, access with { Write = false }); // the read-only answer, if reads are allowed
        if (!walk.IsSuccess)
        {
            SmmuEventType type = EventOfWalk(walk.Status);
            if (walk.Status == LpaeWalkStatus.ExternalAbort)
            {
                RecordEvent(TranslationEvent(type, request, walk));
                return AtsCompletion.Unsuccessful(AtsCompletionStatus.CompleterAbort, (Hardware.Vtd.FaultReason)type);
            }
            return AtsCompletion.Success(request.Iova & ~0xFFFUL, 12, DmaProtection.None, deniedFault: (Hardware.Vtd.FaultReason)type);
        }
        DmaProtection rights = walk.Permissions;
        if (!write)
            rights &= DmaProtection.Read;
        Hardware.Vtd.FaultReason denied = write && (rights & DmaProtection.Write) == 0
            ? (Hardware.Vtd.FaultReason)SmmuEventType.Permission : Hardware.Vtd.FaultReason.None;
        return AtsCompletion.Success(walk.OutputPage, walk.PageShift, rights, execute: access.Execute, privileged: access.Privileged,
            deniedFault: denied);
    }

    /// <summary>Full ATS is allowed for the stream: STE.EATS = 0b01 on an STE that translates (Config stage 1, stage 2 or
    /// nested).</summary>
    private static bool AllowsAts(in StreamTableEntry ste) =>
        ste.Config > StreamTableEntry.ConfigBypass && StreamTableEntry.EatsField.Get(ste.Word1) == StreamTableEntry.EatsFull;

    /// <summary>An unsuccessful completion: the event recorded (a configuration abort records none), then UR or CA.</summary>
    private AtsCompletion AtsFault(in DmaRequest request, SmmuEventType type, ulong fetchAddress, AtsCompletionStatus status)
    {
        if (type != (SmmuEventType)AbortWithoutEvent)
            RecordEvent(ConfigEvent(type, request, fetchAddress));
        return AtsCompletion.Unsuccessful(status, (Hardware.Vtd.FaultReason)type);
    }

    /// <summary>
    /// A translated transaction (AT = translated; Arm IHI 0070, 3.9.1.3): with SMMU_CR0.ATSCHK clear it passes with its
    /// address unchanged and no STE is looked at. With ATSCHK set the STE (from the configuration cache or memory) must
    /// allow full ATS (<see cref="TranslateForAts"/>): an STE that cannot be read records its configuration event; one
    /// that does not allow ATS records F_TRANSL_FORBIDDEN; both fault. Without SMMU_IDR0.ATS every translated
    /// transaction records F_TRANSL_FORBIDDEN. Never uses the TLB or a walk.
    /// </summary>
    private TranslationResult TranslatedTransaction(in DmaRequest request)
    {
        if (SupportsAts && !Cr0Fields.AtsCheck.IsSet(_cr0))
            return new TranslationResult(request.Iova, 12, DmaProtection.ReadWrite, Hardware.Vtd.FaultReason.None);
        if (SupportsAts)
        {
            SmmuEventType problem;
            SmmuStreamCache? stream;
            ulong fetchAddress;
            using (EpochScope scope = _memory.Reclaimer.Protect())
                problem = ResolveStream(request.RequesterId, Volatile.Read(ref _invalidationSequence), out stream, out fetchAddress);
            if (stream == null)
            {
                RecordEvent(ConfigEvent(problem, request, fetchAddress));
                return TranslationResult.Faulted((Hardware.Vtd.FaultReason)problem);
            }
            if (AllowsAts(stream.Ste))
                return new TranslationResult(request.Iova, 12, DmaProtection.ReadWrite, Hardware.Vtd.FaultReason.None);
        }
        RecordEvent(ConfigEvent(SmmuEventType.TranslationForbidden, request, 0));
        return TranslationResult.Faulted((Hardware.Vtd.FaultReason)SmmuEventType.TranslationForbidden);
    }
}
