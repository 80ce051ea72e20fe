using Siov.Fast.Caching;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// One VT-d DMA remapping unit (one DRHD): capability registers, a root table with context
/// tables (legacy mode) or scalable-mode context entries with PASID directories and PASID
/// tables, all in spec format in simulated physical memory; an IOTLB, a context cache and a
/// PASID cache; invalidation at the spec's granularities; a primary fault log; and
/// <see cref="Translate(in DmaRequest)"/>, which a device model calls for every DMA (or, faster, the
/// same call on a <see cref="TranslationPort"/> it keeps per thread, from <see cref="OpenPort"/>).
/// </summary>
/// <remarks>
/// <para><b>Concurrency contract.</b></para>
/// <list type="bullet">
/// <item>Translation (single or batch) takes no lock and no interlocked read-modify-write on
/// the hit path: it reads the context-cache entry, the PASID-cache entry and one IOTLB set (a
/// sequence lock read twice), and bumps a counter in a block that only its thread writes.</item>
/// <item>The miss path walks tables inside an epoch scope (one compare-and-swap), so table pages
/// that a concurrent unmap or teardown unlinks are freed only after the walk is done
/// (<see cref="Concurrency.EpochReclaimer"/>).</item>
/// <item>Programming (context and PASID entries) and invalidation serialize on one lock per
/// unit; map and unmap serialize per page table.</item>
/// <item>Every invalidation raises the unit's invalidation sequence number (full fence) before
/// it clears anything, and every cache fill checks, under the lock of the slot it fills, that
/// the number is the one it read before reading the tables. So once an unmap and its IOTLB
/// invalidation have returned, no translation that starts afterwards yields the old mapping,
/// and a translation that raced with them cannot leave the old mapping cached.</item>
/// <item>Software that changes a table without the matching invalidation sees stale
/// translations, as on hardware: the caches are real caches.</item>
/// </list>
/// </remarks>
public sealed partial class RemappingUnit : IIommuHardware, IDisposable
{
    private const int RequesterIdCount = 65536;

    private readonly PhysicalMemory _memory;
    private readonly SecondLevelWalker _walker;
    private readonly FirstLevelWalker _firstLevelWalker;
    private readonly Iotlb _iotlb;
    private readonly Lock _programLock = new();
    private readonly ContextCacheEntry?[] _contextCache = new ContextCacheEntry?[RequesterIdCount];
    private readonly CounterSet _counters = new();
    private ulong _rootTable;                 // latched from RTADDR_REG by GCMD.SRTP (or allocated by the self-booted constructor)
    private readonly int _hostAddressWidth;
    private readonly ulong _reservedAboveHaw;
    private long _invalidationSequence;
    private long _iotlbInvalidations;
    private long _contextInvalidations;
    private long _pasidInvalidations;
    private bool _disposed;

    /// <summary>Creates a unit from its register images.</summary>
    /// <param name="memory">Simulated memory for its tables (and the page tables it walks).</param>
    /// <param name="capability">CAP_REG image, e.g. 0x19ed008c40780c66.</param>
    /// <param name="extendedCapability">ECAP_REG image, e.g. 0x3ee9e86f050df.</param>
    /// <param name="options">Settings; <see cref="RemappingUnitOptions.Default"/> when null.</param>
    /// <exception cref="IommuException">As <see cref="RemappingUnit(PhysicalMemory, CapabilityRegister, ExtendedCapabilityRegister, RemappingUnitOptions?)"/>.</exception>
    public RemappingUnit(PhysicalMemory memory, ulong capability, ulong extendedCapability, RemappingUnitOptions? options = null)
        : this(memory, CapabilityRegister.Decode(capability), ExtendedCapabilityRegister.Decode(extendedCapability), options)
    {
    }

    /// <summary>Creates a unit from its decoded registers.</summary>
    /// <param name="memory">Simulated memory for its tables (and the page tables it walks).</param>
    /// <param name="capability">CAP_REG.</param>
    /// <param name="extendedCapability">ECAP_REG.</param>
    /// <param name="options">Settings; <see cref="RemappingUnitOptions.Default"/> when null.</param>
    /// <exception cref="IommuException">EINVAL when SAGAW names no 3-, 4- or 5-level width, ND is above 6,
    /// the host address width is outside 32-52 or the memory reaches above it, or an option is out of
    /// range; ENOMEM when no frame is left for the root table.</exception>
    public RemappingUnit(PhysicalMemory memory, CapabilityRegister capability, ExtendedCapabilityRegister extendedCapability,
        RemappingUnitOptions? options = null)
        : this(memory, capability, extendedCapability, options, atReset: false)
    {
    }

    private RemappingUnit(PhysicalMemory memory, CapabilityRegister capability, ExtendedCapabilityRegister extendedCapability,
        RemappingUnitOptions? options, bool atReset)
    {
        ArgumentNullException.ThrowIfNull(memory);
        options ??= RemappingUnitOptions.Default;
        if (!capability.SupportsLevels(3) && !capability.SupportsLevels(4) && !capability.SupportsLevels(5))
            Throw.Iommu(Errno.EINVAL, $"CAP_REG.SAGAW {capability.SupportedAdjustedGuestAddressWidths:x} names no 3-, 4- or 5-level table width");
        if (capability.NumberOfDomainsField > 6)
            Throw.Iommu(Errno.EINVAL, $"CAP_REG.ND {capability.NumberOfDomainsField} is reserved (0-6 are defined)");
        if (options.HostAddressWidth is < 32 or > 52)
            Throw.Iommu(Errno.EINVAL, $"HostAddressWidth {options.HostAddressWidth} is outside 32-52");
        if (memory.BaseHpa + memory.Size > 1UL << options.HostAddressWidth)
            Throw.Iommu(Errno.EINVAL,
                $"simulated memory ends at {Throw.Hex(memory.BaseHpa + memory.Size)}, above the {options.HostAddressWidth}-bit host address width");

        _memory = memory;
        Capability = capability;
        ExtendedCapability = extendedCapability;
        Options = options;
        _atc = NewAtcTracker();
        _hostAddressWidth = options.HostAddressWidth;
        _reservedAboveHaw = RootEntry.PointerMask & ~((1UL << _hostAddressWidth) - 1);
        IsScalableMode = extendedCapability.ScalableMode && options.ScalableMode;
        // PCIe carries 20-bit PASIDs; PSS may claim more.
        PasidWidth = IsScalableMode && extendedCapability.Pasid ? Math.Min(extendedCapability.PasidWidth, 20) : 0;
        PageSizes = capability.SecondLevelPageSizes;
        Faults = new FaultLog(options.FaultLogCapacity);
        _walker = new SecondLevelWalker(memory, PageSizes, _hostAddressWidth);
        _firstLevelWalker = new FirstLevelWalker(memory, _hostAddressWidth, Capability.FirstLevel1GPages);
        _iotlb = new Iotlb(options.IotlbCapacity, options.IotlbProbePath);
        _faultRecords = new ulong[Math.Max(1, capability.NumberOfFaultRecordingRegisters) * 2];
        if (atReset)
            return;
        try
        {
            _rootTable = memory.Frames.Allocate();
        }
        catch
        {
            _iotlb.Dispose();
            throw;
        }
        // Booted as a driver would leave it: root table latched, translation on, register-based invalidation.
        _rootTableAddressRegister = _rootTable | (IsScalableMode ? 1UL << 10 : 0);
        _globalStatus = (uint)(Hardware.Vtd.VtdRegisters.GlobalCommand.TranslationEnable.Mask | Hardware.Vtd.VtdRegisters.GlobalCommand.SetRootTablePointer.Mask);
        _translationEnabled = true;
    }

    /// <summary>
    /// Creates a unit in its reset state, to be brought up through its registers (<see cref="Hardware.IMmioRegion"/>)
    /// and tables a driver writes into <paramref name="memory"/>, as on silicon: GSTS_REG clear, no root table
    /// latched, translation disabled (DMA passes through untranslated until GCMD_REG.TE), queued invalidation off,
    /// fault events masked. The translation table mode (legacy or scalable) comes from RTADDR_REG.TTM at SRTP.
    /// </summary>
    /// <param name="memory">Simulated memory holding every table the unit reads.</param>
    /// <param name="capability">CAP_REG image.</param>
    /// <param name="extendedCapability">ECAP_REG image.</param>
    /// <param name="options">Settings; <see cref="RemappingUnitOptions.Default"/> when null.</param>
    /// <returns>The unit.</returns>
    /// <exception cref="IommuException">As the constructor (EINVAL for inconsistent registers or options).</exception>
    public static RemappingUnit CreateAtReset(PhysicalMemory memory, ulong capability, ulong extendedCapability, RemappingUnitOptions? options = null) =>
        new(memory, CapabilityRegister.Decode(capability), ExtendedCapabilityRegister.Decode(extendedCapability), options, atReset: true);

    /// <summary>CAP_REG.</summary>
    public CapabilityRegister Capability { get; }

    /// <summary>ECAP_REG.</summary>
    public ExtendedCapabilityRegister ExtendedCapability { get; }

    /// <summary>The settings the unit was created with.</summary>
    public RemappingUnitOptions Options { get; }

    /// <summary>The memory holding the unit's tables.</summary>
    public PhysicalMemory Memory => _memory;

    /// <summary>The DRHD's register base address (<see cref="RemappingUnitOptions.RegisterBase"/>).</summary>
    public ulong RegisterBase => Options.RegisterBase;

    /// <summary>True in scalable mode (RTADDR_REG.TTM = 01b), false in legacy mode (TTM = 00b).</summary>
    public bool IsScalableMode { get; private set; }

    /// <summary>PASID width in bits that requests may use (0 when the unit takes no PASIDs: legacy mode or ECAP_REG.PASID clear).</summary>
    public int PasidWidth { get; private set; }

    /// <summary>Second-level leaf sizes (CAP_REG.SLLPS).</summary>
    public PageSizes PageSizes { get; }

    /// <summary>Number of domain ids (CAP_REG.ND).</summary>
    public int NumberOfDomains => Capability.NumberOfDomains;

    /// <summary>The RTADDR_REG image: root table HPA with TTM in bits 11:10.</summary>
    public ulong RootTableAddress => _rootTable | (IsScalableMode ? 1UL << 10 : 0);

    /// <summary>The primary fault log.</summary>
    public FaultLog Faults { get; }

    /// <summary>The IOTLB (for inspection; the unit fills and invalidates it).</summary>
    public Iotlb Iotlb => _iotlb;

    /// <summary>A snapshot of the counters, summed over every thread.</summary>
    public RemappingStatistics Statistics
    {
        get
        {
            var sum = _counters.Sum();
            return new RemappingStatistics(sum.Translations, sum.Hits, sum.Misses, sum.Walks, sum.PassThrough,
                sum.ContextMisses, sum.PasidMisses, sum.Faults, Faults.Recorded, Faults.Dropped,
                Volatile.Read(ref _iotlbInvalidations), Volatile.Read(ref _contextInvalidations), Volatile.Read(ref _pasidInvalidations));
        }
    }

    /// <summary>Frees the IOTLB. No translation may run during or after it; the tables stay in memory.</summary>
    public void Dispose()
    {
        lock (_programLock)
        {
            if (_disposed)
                return;
            _disposed = true;
            _iotlb.Dispose();
        }
    }
}
