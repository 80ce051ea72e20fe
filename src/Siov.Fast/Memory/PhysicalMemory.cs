using Siov.Fast.Concurrency;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Siov.Fast.Memory;

/// <summary>
/// Simulated host physical memory: one contiguous native region, 4 KiB aligned and never
/// moved by the GC, addressed by host physical address (HPA). Remapping structures (root,
/// context and PASID tables, I/O page tables) live here in their hardware formats, so a
/// walk reads exactly the bytes the hardware would.
/// </summary>
/// <remarks>
/// <para>The region covers HPAs <c>[BaseHpa, BaseHpa + Size)</c>. Its 4 KiB frames are handed
/// out by <see cref="Frames"/>. Memory starts zeroed (pages are zero-filled lazily by the OS).</para>
/// <para>64-bit entries are read with <c>Volatile.Read</c> (acquire) and
/// written with <c>Volatile.Write</c> (release); an aligned 8-byte
/// access is single-copy atomic on every 64-bit platform .NET supports, so a reader never
/// sees a torn entry. Every access is bounds-checked: an HPA outside the region is an
/// <see cref="Errno.EINVAL"/> error, never an access violation.</para>
/// <para>Dispose only after every walker has stopped: disposing releases the native region.</para>
/// </remarks>
public sealed unsafe class PhysicalMemory : IDisposable
{
    /// <summary>Size of a frame and of every page-table page, in bytes (4 KiB).</summary>
    public const int FrameSize = 4096;

    /// <summary>The highest host address width the VT-d formats can express, in bits (bits 51:12 hold an address).</summary>
    public const int MaxHostAddressWidth = 52;

    private readonly Lock _writeLogLock = new();
    private byte* _allocation;
    private byte* _base;
    private ulong _size;

    /// <summary>
    /// Allocates a simulated physical memory region.
    /// </summary>
    /// <param name="sizeBytes">Region size in bytes; a non-zero multiple of 4 KiB.</param>
    /// <param name="baseHpa">HPA of the first byte; 4 KiB aligned. Defaults to 0.</param>
    /// <exception cref="IommuException">EINVAL when the size is zero or unaligned, the base is
    /// unaligned, or the region would extend past 2^52 (the largest VT-d address);
    /// ENOMEM when the host cannot provide the region.</exception>
    public PhysicalMemory(ulong sizeBytes, ulong baseHpa = 0)
    {
        if (sizeBytes == 0 || (sizeBytes & (FrameSize - 1)) != 0)
            Throw.Iommu(Errno.EINVAL, $"memory size {Throw.Hex(sizeBytes)} must be a non-zero multiple of 4 KiB");
        if ((baseHpa & (FrameSize - 1)) != 0)
            Throw.Iommu(Errno.EINVAL, $"memory base HPA {Throw.Hex(baseHpa)} is not 4 KiB aligned");
        const ulong limit = 1UL << MaxHostAddressWidth;
        if (baseHpa >= limit || sizeBytes > limit - baseHpa)
            Throw.Iommu(Errno.EINVAL, $"memory [{Throw.Hex(baseHpa)}, +{Throw.Hex(sizeBytes)}) extends past the 52-bit host address space");
        if (sizeBytes > (ulong)nint.MaxValue - FrameSize)
            Throw.Iommu(Errno.ENOMEM, $"memory size {Throw.Hex(sizeBytes)} is larger than this process can address");

        try
        {
            // calloc: large blocks come straight from mmap and are zero-filled on first touch.
            _allocation = (byte*)NativeMemory.AllocZeroed((nuint)(sizeBytes + FrameSize));
            // Table pages are read at random by walks: huge pages spare them most TLB misses.
            HugePages.Advise(_allocation, (nuint)(sizeBytes + FrameSize));
        }
        catch (OutOfMemoryException)
        {
            Throw.Iommu(Errno.ENOMEM, $"the host could not provide {Throw.Hex(sizeBytes)} bytes of simulated memory");
        }

        // Align up, never by adding (p % 64): (p + 4095) & ~4095.
        _base = (byte*)(((nuint)_allocation + FrameSize - 1) & ~(nuint)(FrameSize - 1));
        _size = sizeBytes;
        BaseHpa = baseHpa;
        Frames = new FrameAllocator(this);
        // The reclaimer knows nothing of the memory model: it frees through this callback.
        Reclaimer = new EpochReclaimer(Frames.Free);
    }

    /// <summary>HPA of the first byte of the region.</summary>
    public ulong BaseHpa { get; }

    /// <summary>Size of the region in bytes (0 once disposed).</summary>
    public ulong Size => _size;

    /// <summary>The 4 KiB frame allocator over this region.</summary>
    public FrameAllocator Frames { get; }

    /// <summary>Defers the freeing of table pages until no page walk can still read them (see
    /// <see cref="EpochReclaimer"/>); the frames it frees go back to <see cref="Frames"/>
    /// (<see cref="FrameAllocator.Free"/>).</summary>
    public EpochReclaimer Reclaimer { get; }

    /// <summary>True when <c>[hpa, hpa + length)</c> lies wholly inside the region.</summary>
    /// <param name="hpa">First byte's HPA.</param>
    /// <param name="length">Length in bytes.</param>
    /// <returns>Whether the whole range is backed by simulated memory; overflow-safe.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(ulong hpa, ulong length)
    {
        ulong offset = hpa - BaseHpa; // wraps to a huge value when hpa < BaseHpa
        return offset < _size && length <= _size - offset;
    }

    /// <summary>Reads the 64-bit little-endian entry at <paramref name="hpa"/> atomically (acquire).</summary>
    /// <param name="hpa">HPA of the entry; 8-byte aligned.</param>
    /// <returns>The entry's value.</returns>
    /// <exception cref="IommuException">EINVAL when the HPA is unaligned or outside the region.</exception>
    public ulong ReadUInt64(ulong hpa) => Volatile.Read(ref *EntryPointer(hpa));

    /// <summary>Writes the 64-bit entry at <paramref name="hpa"/> atomically (release: earlier writes are visible first).</summary>
    /// <param name="hpa">HPA of the entry; 8-byte aligned.</param>
    /// <param name="value">The new value.</param>
    /// <exception cref="IommuException">EINVAL when the HPA is unaligned or outside the region.</exception>
    public void WriteUInt64(ulong hpa, ulong value)
    {
        ulong* entry = EntryPointer(hpa);
        if (WriteLog is { } log)
        {
            // Logged before it lands: a reader that sees the log's number unchanged has not seen the write either.
            log.Record(hpa, *entry, value);
            Volatile.Write(ref *entry, value);
            log.Landed();
            return;
        }
        Volatile.Write(ref *entry, value);
    }

    /// <summary>The write log, once <see cref="EnableWriteLog"/> has been called; null otherwise.</summary>
    public MemoryWriteLog? WriteLog { get; private set; }

    /// <summary>Starts logging the last write to each entry (for the invalidation sanitizer). Calling it again keeps the existing log.</summary>
    /// <param name="capacity">Distinct entries remembered, at least 1.</param>
    /// <returns>The log.</returns>
    /// <exception cref="IommuException">EINVAL for a capacity below 1.</exception>
    public MemoryWriteLog EnableWriteLog(int capacity = 1 << 16)
    {
        lock (_writeLogLock)
            return WriteLog ??= new MemoryWriteLog(capacity);
    }

    /// <summary>Stores a table entry through its pointer (the page-table builder's path), logging it when the log is on.</summary>
    internal void Store(ulong* entry, ulong hpa, ulong value)
    {
        if (WriteLog is { } log)
        {
            log.Record(hpa, *entry, value); // logged before it lands, as in WriteUInt64
            Volatile.Write(ref *entry, value);
            log.Landed();
            return;
        }
        Volatile.Write(ref *entry, value);
    }

    /// <summary>Atomically replaces the entry at <paramref name="hpa"/> when it equals <paramref name="comparand"/> (full fence).</summary>
    /// <param name="hpa">HPA of the entry; 8-byte aligned.</param>
    /// <param name="value">The value to store.</param>
    /// <param name="comparand">The value expected there.</param>
    /// <returns>The value that was there before the call.</returns>
    /// <exception cref="IommuException">EINVAL when the HPA is unaligned or outside the region.</exception>
    public ulong CompareExchangeUInt64(ulong hpa, ulong value, ulong comparand)
        => Interlocked.CompareExchange(ref *EntryPointer(hpa), value, comparand);

    /// <summary>Copies bytes out of simulated memory (for dumps, snapshots and tests; not atomic as a whole).</summary>
    /// <param name="hpa">HPA of the first byte.</param>
    /// <param name="destination">Receives <c>destination.Length</c> bytes.</param>
    /// <exception cref="IommuException">EINVAL when the range is not wholly inside the region.</exception>
    public void CopyTo(ulong hpa, Span<byte> destination)
    {
        if (!Contains(hpa, (ulong)destination.Length))
            ThrowOutside(hpa, (ulong)destination.Length);
        new ReadOnlySpan<byte>(_base + (hpa - BaseHpa), destination.Length).CopyTo(destination);
    }

    /// <summary>
    /// Pointer to the 4 KiB table page at <paramref name="tableHpa"/>, or null when the page is
    /// not wholly inside the region or not 4 KiB aligned. Used by walks, which turn a bad
    /// pointer into a fault instead of an exception.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong* TablePointer(ulong tableHpa)
    {
        ulong offset = tableHpa - BaseHpa;
        // One compare covers both "below base" (wrapped) and "past the end"; _size is a multiple of 4 KiB.
        if (offset >= _size || (offset & (FrameSize - 1)) != 0)
            return null;
        return (ulong*)(_base + offset);
    }

    /// <summary>Pointer to the 8-byte entry at <paramref name="hpa"/>; throws EINVAL when outside or unaligned.</summary>
    internal ulong* EntryPointer(ulong hpa)
    {
        if ((hpa & 7) != 0)
            Throw.Iommu(Errno.EINVAL, $"HPA {Throw.Hex(hpa)} is not 8-byte aligned for a 64-bit entry");
        if (!Contains(hpa, 8))
            ThrowOutside(hpa, 8);
        return (ulong*)(_base + (hpa - BaseHpa));
    }

    /// <summary>Zero-fills one frame; the caller owns it.</summary>
    internal void ClearFrame(ulong frameHpa) => NativeMemory.Clear(_base + (frameHpa - BaseHpa), FrameSize);

    private void ThrowOutside(ulong hpa, ulong length) =>
        Throw.Iommu(Errno.EINVAL,
            $"HPA range [{Throw.Hex(hpa)}, +{Throw.Hex(length)}) is outside simulated physical memory " +
            $"[{Throw.Hex(BaseHpa)}, {Throw.Hex(BaseHpa + _size)})");

    /// <summary>Releases the native region. Every later access fails with EINVAL.</summary>
    public void Dispose()
    {
        if (_allocation == null)
            return;
        _size = 0;
        NativeMemory.Free(_allocation);
        _allocation = null;
        _base = null;
    }
}
