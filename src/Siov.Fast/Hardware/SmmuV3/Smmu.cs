using Siov.Fast.Caching;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Hardware.SmmuV3;

/// <summary>
/// An Arm SMMUv3 (Arm IHI 0070) as a driver sees it: ID registers, CR0/CR0ACK, GBPA, the stream table (linear or
/// 2-level) and the context descriptor tables (linear or 2-level) it reads from simulated memory, AArch64 stage 1 and
/// stage 2 walks with the 4 KiB granule (nested when both are on), a TLB tagged by (VMID, ASID), a configuration cache of
/// STEs and CDs, the command queue and the event queue. The model starts in its reset state (SMMUEN clear; GBPA says
/// what transactions get) and is brought up through its registers.
/// </summary>
/// <remarks>
/// <para>The StreamID of a transaction is its <see cref="DmaRequest.RequesterId"/> (the ID mapping of an IORT root complex
/// node maps requester ids to StreamIDs; here it is the identity), its SubstreamID the request's PASID.</para>
/// <para>A faulting transaction's <see cref="TranslationResult.Fault"/> carries the SMMUv3 EventID
/// (<see cref="EventOf"/> reads it as an <see cref="SmmuEventType"/>), and the event is recorded in the event queue when
/// EVTQEN is set. An abort without event (Config abort, GBPA abort) has the EventID 0xFF.</para>
/// <para>Concurrency: translation takes no lock on a TLB hit; programming (registers, commands) serializes on one lock.
/// Like the VT-d unit, every invalidation raises a sequence number before it clears anything, and fills made from an
/// older reading are dropped.</para>
/// </remarks>
public sealed partial class Smmu : IIommuHardware, IDisposable
{
    /// <summary>The fault code of a transaction aborted without an event (Config abort, GBPA.ABORT).</summary>
    public const byte AbortWithoutEvent = 0xFF;

    private readonly PhysicalMemory _memory;
    private readonly LpaeWalker _walker;
    private readonly Iotlb _tlb;
    private readonly SmmuStreamCache?[] _streams;
    private readonly int _outputBits;
    private readonly IotlbPipeline.SlowPath _slowPath;
    private long _invalidationSequence;
    private bool _disposed;

    /// <summary>Creates an SMMU in its reset state.</summary>
    /// <param name="memory">The memory its tables and queues are in.</param>
    /// <param name="options">ID registers and settings; <see cref="SmmuOptions.Default"/> when null.</param>
    /// <exception cref="IommuException">EINVAL when the ID registers name no AArch64 tables, no 4 KiB granule, more than 16
    /// StreamID bits (the model's configuration cache is an array), a bad TLB capacity, or an ATC invalidation timeout
    /// below 1 ms.</exception>
    public Smmu(PhysicalMemory memory, SmmuOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(memory);
        Options = options ?? SmmuOptions.Default;
        if ((SmmuRegisters.Idr0Fields.TableFormats.Get(Options.Idr0) & 2) == 0)
            Throw.Iommu(Errno.EINVAL, "SMMU_IDR0.TTF names no AArch64 tables, the only format modelled");
        if (!SmmuRegisters.Idr5Fields.Granule4K.IsSet(Options.Idr5))
            Throw.Iommu(Errno.EINVAL, "SMMU_IDR5.GRAN4K is clear: the 4 KiB granule is the only one modelled");
        if (StreamIdBits > 16)
            Throw.Iommu(Errno.EINVAL, $"SMMU_IDR1.SIDSIZE {StreamIdBits}: the model takes at most 16 StreamID bits");
        if (Options.AtcInvalidationTimeout < TimeSpan.FromMilliseconds(1))
            Throw.Iommu(Errno.EINVAL, $"ATC invalidation timeout {Options.AtcInvalidationTimeout} is below 1 ms");
        ArgumentNullException.ThrowIfNull(Options.TimeProvider);
        _memory = memory;
        _atc = NewAtcTracker();
        _walker = new LpaeWalker(memory);
        _tlb = new Iotlb(Options.TlbCapacity, Options.TlbProbePath);
        _streams = new SmmuStreamCache?[1 << StreamIdBits];
        _outputBits = SmmuRegisters.Idr5Fields.Bits((int)SmmuRegisters.Idr5Fields.OutputAddressSize.Get(Options.Idr5));
        _slowPath = SlowPath;
    }

    /// <summary>The settings it was created with.</summary>
    public SmmuOptions Options { get; }

    /// <summary>The memory it reads.</summary>
    public PhysicalMemory Memory => _memory;

    /// <summary>The physical address of its register region (<see cref="SmmuOptions.RegisterBase"/>).</summary>
    public ulong RegisterBase => Options.RegisterBase;

    /// <summary>StreamID bits (SMMU_IDR1.SIDSIZE).</summary>
    public int StreamIdBits => (int)SmmuRegisters.Idr1Fields.StreamIdSize.Get(Options.Idr1);

    /// <summary>SubstreamID bits (SMMU_IDR1.SSIDSIZE).</summary>
    public int SubstreamIdBits => (int)SmmuRegisters.Idr1Fields.SubstreamIdSize.Get(Options.Idr1);

    /// <summary>Stage 1 supported (SMMU_IDR0.S1P).</summary>
    public bool SupportsStage1 => SmmuRegisters.Idr0Fields.Stage1.IsSet(Options.Idr0);

    /// <summary>Stage 2 supported (SMMU_IDR0.S2P).</summary>
    public bool SupportsStage2 => SmmuRegisters.Idr0Fields.Stage2.IsSet(Options.Idr0);

    /// <summary>The output address size in bits (SMMU_IDR5.OAS).</summary>
    public int OutputAddressBits => _outputBits;

    /// <summary>The TLB (for inspection).</summary>
    public Iotlb Tlb => _tlb;

    /// <summary>The SMMUv3 event a faulting translation result carries.</summary>
    /// <param name="result">A result of <see cref="Translate(in DmaRequest)"/>.</param>
    /// <returns>The EventID, <see cref="SmmuEventType.None"/> on success; 0xFF (not a named value) for an abort without event.</returns>
    public static SmmuEventType EventOf(TranslationResult result) => (SmmuEventType)(byte)result.Fault;

    /// <summary>Frees the TLB. No translation may run during or after it.</summary>
    public void Dispose()
    {
        lock (_registerLock)
        {
            if (_disposed)
                return;
            _disposed = true;
            _atc.CancelAll();
            _tlb.Dispose();
        }
    }
}
