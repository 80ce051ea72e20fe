using System.Diagnostics.CodeAnalysis;
using Siov.Fast.Ats;

namespace Siov.Fast.Devices;

/// <summary>
/// One work queue of an <see cref="Accelerator"/>, serving one PASID: <see cref="Submit"/> runs a descriptor to its
/// completion record, translating every page through the function's ATC, asking for missing pages with page requests.
/// </summary>
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix",
    Justification = "A work queue (WQ) is the device's own term; it is not a .NET queue collection.")]
public sealed class WorkQueue
{
    private readonly Accelerator _device;
    private long _completed, _faulted;

    internal WorkQueue(Accelerator device, uint pasid)
    {
        _device = device;
        Pasid = pasid;
    }

    /// <summary>The PASID every descriptor of this queue carries.</summary>
    public uint Pasid { get; }

    /// <summary>Descriptors completed successfully.</summary>
    public long Completed => Volatile.Read(ref _completed);

    /// <summary>Descriptors that ended with a page fault or a translation error.</summary>
    public long Faulted => Volatile.Read(ref _faulted);

    /// <summary>
    /// Runs a descriptor: page by page, the source translated for read and the destination for write (from the ATC, or
    /// with a translation request), each translation used as a translated request the agent checks, then 8-byte words
    /// moved in memory. A page the completion does not grant is asked for with a page request (when
    /// <see cref="AcceleratorOptions.PageRequests"/>), and the translation retried once the host answers success. The
    /// bytes before a failure stay written, as on a device; the record says how many.
    /// </summary>
    /// <param name="descriptor">The work.</param>
    /// <returns>The completion record.</returns>
    /// <exception cref="IommuException">EINVAL for an address or size that is not a multiple of 8, or a size above
    /// <see cref="WorkDescriptor.MaxSize"/>; nothing is moved then.</exception>
    public CompletionRecord Submit(in WorkDescriptor descriptor)
    {
        bool move = descriptor.Operation == WorkOperation.MemoryMove;
        if (((descriptor.Destination | descriptor.Size | (move ? descriptor.Source : 0)) & 7) != 0)
            Throw.Iommu(Errno.EINVAL, $"work descriptor {descriptor}: addresses and size must be multiples of 8 bytes");
        if (descriptor.Size > WorkDescriptor.MaxSize)
            Throw.Iommu(Errno.EINVAL, $"work descriptor size {descriptor.Size} is above {WorkDescriptor.MaxSize} bytes");
        ulong done = 0;
        int pageRequests = 0;
        while (done < descriptor.Size)
        {
            ulong destination = descriptor.Destination + done;
            ulong source = descriptor.Source + done;
            ulong chunk = Math.Min(descriptor.Size - done, 0x1000 - (destination & 0xFFF));
            if (move)
                chunk = Math.Min(chunk, 0x1000 - (source & 0xFFF));
            ulong sourceHpa = 0;
            CompletionStatus status = move ? Resolve(source, DmaAccess.Read, ref pageRequests, out sourceHpa) : CompletionStatus.Success;
            if (status != CompletionStatus.Success)
                return Fault(status, done, source, pageRequests);
            status = Resolve(destination, DmaAccess.Write, ref pageRequests, out ulong destinationHpa);
            if (status != CompletionStatus.Success)
                return Fault(status, done, destination, pageRequests);
            for (ulong offset = 0; offset < chunk; offset += 8)
                _device.Memory.WriteUInt64(destinationHpa + offset, move ? _device.Memory.ReadUInt64(sourceHpa + offset) : descriptor.Pattern);
            done += chunk;
        }
        Interlocked.Increment(ref _completed);
        return new CompletionRecord(CompletionStatus.Success, done, 0, pageRequests);
    }

    private CompletionRecord Fault(CompletionStatus status, ulong done, ulong address, int pageRequests)
    {
        Interlocked.Increment(ref _faulted);
        return new CompletionRecord(status, done, address, pageRequests);
    }

    /// <summary>The HPA of <paramref name="address"/> for <paramref name="access"/>, from the ATC or the agent, with page
    /// requests for a page that is not there.</summary>
    private CompletionStatus Resolve(ulong address, DmaAccess access, ref int pageRequests, out ulong hpa)
    {
        hpa = 0;
        ushort rid = _device.RequesterId;
        for (int attempt = 0; ; attempt++)
        {
            AtcOutcome outcome = _device.Atc.Translate(new DmaRequest(rid, Pasid, address, access), out TranslationResult result);
            if (outcome is AtcOutcome.Hit or AtcOutcome.Filled)
            {
                // The DMA itself: a translated request, which the agent lets through only where ATS is allowed.
                TranslationResult check = _device.Agent.Translate(DmaRequest.Translated(rid, Pasid, result.Hpa, access));
                if (!check.IsSuccess || !_device.Memory.Contains(result.Hpa & ~7UL, 8))
                    return CompletionStatus.TranslationError;
                hpa = result.Hpa;
                return CompletionStatus.Success;
            }
            if (outcome == AtcOutcome.Unsuccessful)
                return CompletionStatus.TranslationError;
            if (!_device.Options.PageRequests || attempt >= _device.Options.PageRequestRetries)
                return CompletionStatus.PageFault;
            pageRequests++;
            if (_device.RequestPage(Pasid, address, (access & DmaAccess.Write) != 0) != PageResponseCode.Success)
                return CompletionStatus.PageFault;
        }
    }
}
