using Siov.Fast.Ats;
using Siov.Fast.Iommu;
using Siov.Fast.Memory;

namespace Siov.Fast.Devices;

/// <summary>
/// A reference device model: a Scalable IOV accelerator (a data-streaming engine in the manner of Intel DSA) behind a
/// translation agent, whose work queues each serve one PASID. Its DMA engine translates through its own ATC
/// (<see cref="DeviceTlb"/>): hits go straight to memory as translated requests, misses are ATS translation requests,
/// and a page that is not there is asked for with a page request (PRI), after which the work queue retries.
/// </summary>
/// <remarks>
/// <para>Embedding: build the platform (a <see cref="Hardware.Vtd.RemappingUnit"/> under an <see cref="Iommu.IommuCore"/>,
/// the function added with ATS and PRI), attach a domain at each PASID, then create the accelerator on the unit and a
/// work queue per PASID. A domain's <see cref="Iommu.IommuDomain.IopfHandler"/> serves its page requests.</para>
/// <para>Threads: one thread per work queue may submit at a time; different work queues may run on different threads.
/// A work queue that waits for a page group response blocks its thread (the "block on fault" mode), up to
/// <see cref="AcceleratorOptions.PageResponseTimeout"/>.</para>
/// </remarks>
public sealed class Accelerator : IDisposable
{
    private const int GroupIndices = 512; // PRG index: 9 bits
    private readonly IAtsTranslationAgent _agent;
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, WorkQueue> _queues = [];
    private readonly Dictionary<int, PendingPage> _pending = [];
    private int _nextGroupIndex;
    private long _pageRequests;

    /// <summary>Creates the function and its ATC, connected to the agent for <paramref name="requesterId"/>.</summary>
    /// <param name="agent">The translation agent it sits behind (a VT-d remapping unit).</param>
    /// <param name="memory">The simulated memory its DMA reads and writes.</param>
    /// <param name="requesterId">Its requester id.</param>
    /// <param name="options">Settings; <see cref="AcceleratorOptions.Default"/> when null.</param>
    /// <exception cref="IommuException">EEXIST when the agent has an endpoint for the requester id already; EINVAL for a
    /// bad ATC capacity or a retry count below 1.</exception>
    public Accelerator(IAtsTranslationAgent agent, PhysicalMemory memory, ushort requesterId, AcceleratorOptions? options = null)
        : this(agent, memory, requesterId, options, 0)
    {
    }

    /// <summary>Creates the function modelled for <paramref name="function"/>: its ATC is connected to the function's IOMMU
    /// with the function's source id (the id its DMA carries there).</summary>
    /// <param name="function">The PCI function, with ATS enabled.</param>
    /// <param name="memory">The simulated memory its DMA reads and writes.</param>
    /// <param name="options">Settings; <see cref="AcceleratorOptions.Default"/> when null.</param>
    /// <exception cref="IommuException">EOPNOTSUPP when the function's IOMMU answers no translation requests (the SMMUv3
    /// model has no ATS yet); as the other constructor.</exception>
    public Accelerator(PciDevice function, PhysicalMemory memory, AcceleratorOptions? options = null)
        : this(AgentOf(function), memory, function.SourceId, options, 0)
    {
    }

    private static IAtsTranslationAgent AgentOf(PciDevice function)
    {
        ArgumentNullException.ThrowIfNull(function);
        return function.Unit as IAtsTranslationAgent
            ?? throw new IommuException(Errno.EOPNOTSUPP, $"{function}'s IOMMU at {Throw.Hex(function.Unit.RegisterBase)} answers no translation requests");
    }

    private Accelerator(IAtsTranslationAgent agent, PhysicalMemory memory, ushort requesterId, AcceleratorOptions? options, int _)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(memory);
        Options = options ?? AcceleratorOptions.Default;
        if (Options.PageRequestRetries < 1)
            Throw.Iommu(Errno.EINVAL, $"PageRequestRetries {Options.PageRequestRetries} is below 1");
        _agent = agent;
        Memory = memory;
        RequesterId = requesterId;
        Atc = new DeviceTlb(agent, requesterId, Options.AtcCapacity, Options.AtcProbePath);
        Atc.PageGroupResponseReceived += OnPageGroupResponse;
    }

    /// <summary>Its requester id.</summary>
    public ushort RequesterId { get; }

    /// <summary>Its settings.</summary>
    public AcceleratorOptions Options { get; }

    /// <summary>The memory its DMA reaches.</summary>
    public PhysicalMemory Memory { get; }

    /// <summary>Its ATC.</summary>
    public DeviceTlb Atc { get; }

    /// <summary>The translation agent.</summary>
    internal IAtsTranslationAgent Agent => _agent;

    /// <summary>Page requests sent so far.</summary>
    public long PageRequests => Volatile.Read(ref _pageRequests);

    /// <summary>Its work queues, by PASID.</summary>
    public IReadOnlyList<WorkQueue> WorkQueues
    {
        get
        {
            lock (_lock)
                return [.. _queues.Values.OrderBy(q => q.Pasid)];
        }
    }

    /// <summary>Creates a work queue for <paramref name="pasid"/> (a dedicated WQ: every descriptor carries that PASID).</summary>
    /// <param name="pasid">The PASID, below 2^20.</param>
    /// <returns>The work queue.</returns>
    /// <exception cref="IommuException">EINVAL for a PASID of more than 20 bits; EEXIST when a work queue has it.</exception>
    public WorkQueue CreateWorkQueue(uint pasid)
    {
        if (pasid >= 1u << 20)
            Throw.Iommu(Errno.EINVAL, $"PASID {pasid} does not fit 20 bits");
        lock (_lock)
        {
            if (_queues.ContainsKey(pasid))
                Throw.Iommu(Errno.EEXIST, $"a work queue of {RequesterIds.Format(RequesterId)} serves PASID {pasid} already");
            var queue = new WorkQueue(this, pasid);
            _queues.Add(pasid, queue);
            return queue;
        }
    }

    /// <summary>Sends a page request for one page as the last of its own group and waits for the group's response.</summary>
    /// <returns>The response, or null when none came in time or no PRG index was free.</returns>
    internal PageResponseCode? RequestPage(uint pasid, ulong address, bool write)
    {
        var pending = new PendingPage(pasid);
        int index;
        lock (_lock)
        {
            if (_pending.Count == GroupIndices)
                return null;
            while (_pending.ContainsKey(_nextGroupIndex))
                _nextGroupIndex = (_nextGroupIndex + 1) % GroupIndices;
            index = _nextGroupIndex;
            _nextGroupIndex = (index + 1) % GroupIndices;
            _pending.Add(index, pending);
        }
        try
        {
            Interlocked.Increment(ref _pageRequests);
            _agent.SendPageRequest(new PageRequest(RequesterId, pasid, address & ~0xFFFUL, Read: !write, Write: write,
                Execute: false, Privileged: false, index, LastInGroup: true));
            return pending.Done.Wait(Options.PageResponseTimeout) ? pending.Code : null;
        }
        finally
        {
            lock (_lock)
                _pending.Remove(index);
            pending.Dispose();
        }
    }

    private void OnPageGroupResponse(object? sender, PageGroupResponse response)
    {
        lock (_lock)
        {
            if (!_pending.TryGetValue(response.GroupIndex, out PendingPage? pending) || pending.Pasid != response.Pasid)
                return; // a response to nothing this function is waiting for
            pending.Code = response.Code;
            pending.Done.Set();
        }
    }

    /// <summary>Disconnects the ATC from the agent and frees it. No work may run during or after it.</summary>
    public void Dispose() => Atc.Dispose();

    private sealed class PendingPage(uint pasid) : IDisposable
    {
        public readonly uint Pasid = pasid;
        public readonly ManualResetEventSlim Done = new();
        public PageResponseCode? Code;

        public void Dispose() => Done.Dispose();
    }
}
