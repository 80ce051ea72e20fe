using System.Runtime.InteropServices;

namespace Siov.Fast.Memory;

/// <summary>
/// Asks Linux to back a large native block with 2 MiB pages (<c>madvise(MADV_HUGEPAGE)</c>), so
/// the random accesses of IOTLB probes and page walks miss the processor's TLB less often. A hint
/// only: nothing happens on other systems, when transparent huge pages are off, or when the call
/// is unavailable.
/// </summary>
internal static unsafe partial class HugePages
{
    /// <summary>2 MiB: the alignment and granule of a huge page.</summary>
    public const nuint Size = 2 << 20;

    private const int MadvHugePage = 14;
    private static bool s_unavailable;

    /// <summary>Advises huge pages for the 2 MiB-aligned part of <c>[start, start + bytes)</c>.</summary>
    /// <param name="start">First byte of the block.</param>
    /// <param name="bytes">Length in bytes; blocks under 2 MiB are left alone.</param>
    public static void Advise(void* start, nuint bytes)
    {
        if (!OperatingSystem.IsLinux() || s_unavailable || bytes < Size)
            return;
        nuint first = ((nuint)start + Size - 1) & ~(Size - 1);
        nuint end = ((nuint)start + bytes) & ~(Size - 1);
        if (end <= first)
            return;
        try
        {
            _ = Madvise((void*)first, end - first, MadvHugePage);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_unavailable = true;
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}
