using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.PageTables;

/// <summary>
/// Helpers for the map-safety tests: an oracle for the number of table pages a map creates (the
/// old per-page count, done through the public walk), and a "nothing changed" check that also
/// catches a call that allocated frames and gave them back.
/// </summary>
internal static class PageTableTestKit
{
    /// <summary>
    /// Table pages that mapping <paramref name="items"/> (assumed free) creates, counted page by page:
    /// for each leaf the greedy rule picks, the walk says at which level the path ends, and every
    /// table between there and the leaf's level is one to create; a set keyed by (level, region)
    /// counts a table that several leaves or items share once. Cost is one walk per leaf.
    /// </summary>
    public static long NaiveTablesNeeded(SecondLevelPageTable table, IEnumerable<IoMapping> items)
    {
        var missing = new HashSet<(int Level, ulong Region)>();
        foreach (IoMapping item in items)
        {
            foreach (IoMapping leaf in ReferenceIoPageTable.Split(item.Iova, item.Hpa, item.Size, item.Protection, table.Format.PageSizes))
            {
                int target = VtdPaging.LeafLevel(leaf.Size);
                WalkResult walk = table.Walk(leaf.Iova);
                if (walk.Status != WalkStatus.NotPresent)
                    continue;
                for (int level = walk.Level - 1; level >= target; level--)
                    missing.Add((level, leaf.Iova >> VtdPaging.LevelShift(level + 1)));
            }
        }
        return missing.Count;
    }

    /// <summary>
    /// Runs <paramref name="call"/>, which must throw <paramref name="expected"/>, and asserts that nothing
    /// changed: the leaf list, mapped bytes, table pages, the allocator's free count, the bytes of the whole
    /// memory (a marker is first written into every free frame, so a frame that the call allocated, zero-filled
    /// and freed again shows) and the frame the allocator hands out next.
    /// </summary>
    public static IommuException AssertFailsAndChangesNothing(SecondLevelPageTable table, Errno expected, Action call)
    {
        PhysicalMemory memory = table.Memory;
        for (ulong hpa = memory.BaseHpa; hpa < memory.BaseHpa + memory.Size; hpa += PhysicalMemory.FrameSize)
        {
            if (!memory.Frames.IsAllocated(hpa))
                memory.WriteUInt64(hpa, 0x5EED_0000_0000_0000UL | hpa);
        }
        ulong nextFrame = ProbeNextFrame(memory);
        byte[] before = Snapshot(memory);
        int free = memory.Frames.FreeFrames;
        int tablePages = table.TablePages;
        ulong mapped = table.MappedBytes;
        IReadOnlyList<IoMapping> mappings = table.GetMappings();

        var e = Assert.Throws<IommuException>(call);
        Assert.Equal(expected, e.Code);
        Assert.StartsWith(expected.ToString() + ":", e.Message, StringComparison.Ordinal);

        Assert.Equal(free, memory.Frames.FreeFrames);
        Assert.Equal(tablePages, table.TablePages);
        Assert.Equal(mapped, table.MappedBytes);
        Assert.Equal(mappings, table.GetMappings());
        Assert.True(before.AsSpan().SequenceEqual(Snapshot(memory)), "simulated memory changed (a frame was written, or allocated and freed)");
        Assert.Equal(nextFrame, ProbeNextFrame(memory));
        return e;
    }

    /// <summary>The frame the allocator hands out next; allocates it and frees it again (it stays the next one).</summary>
    private static ulong ProbeNextFrame(PhysicalMemory memory)
    {
        if (!memory.Frames.TryAllocate(out ulong hpa))
            return ulong.MaxValue;
        // Allocation zero-fills; put the marker back so the snapshot does not see the probe.
        memory.WriteUInt64(hpa, 0x5EED_0000_0000_0000UL | hpa);
        memory.Frames.Free(hpa);
        return hpa;
    }

    private static byte[] Snapshot(PhysicalMemory memory)
    {
        var bytes = new byte[memory.Size];
        memory.CopyTo(memory.BaseHpa, bytes);
        return bytes;
    }

    public static Errno? Capture(Action action) => CaptureException(action)?.Code;

    public static IommuException? CaptureException(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (IommuException e)
        {
            return e;
        }
    }
}
