using System.Numerics;
using Siov.Fast.Memory;

namespace Siov.Fast.PageTables;

/// <summary>
/// The hardware side of first-level translation (VT-d spec 3.6, IA-32e paging with 4 or 5 levels): walks an FL table
/// in simulated memory, checks the request's rights in its mode (user or supervisor, read, write, execute), and sets A
/// in every entry it used and D in the leaf on a write, each with a compare-and-swap on memory as silicon does with a
/// locked update. A change racing with the walk restarts it.
/// </summary>
/// <param name="memory">The memory the tables live in.</param>
/// <param name="hostAddressWidth">HAW: entry address bits at or above it are reserved.</param>
/// <param name="oneGigabytePages">CAP_REG.FL1GP: 1 GiB leaves are allowed.</param>
public sealed unsafe class FirstLevelWalker(PhysicalMemory memory, int hostAddressWidth, bool oneGigabytePages)
{
    private readonly ulong _reservedAboveHaw = FirstLevelEntry.Address.Mask & ~((1UL << hostAddressWidth) - 1);

    /// <summary>What the request is and what the PASID entry allows.</summary>
    /// <param name="Write">A write (or atomic) request.</param>
    /// <param name="Supervisor">A privileged request (the PASID entry's SRE is checked by the caller).</param>
    /// <param name="Execute">An execute request (ERE is checked by the caller).</param>
    /// <param name="WriteProtect">WPE: supervisor writes obey R/W too.</param>
    /// <param name="NoExecute">NXE: XD is honoured.</param>
    /// <param name="SupervisorExecuteProtect">SMEP: a supervisor may not execute a user page.</param>
    public readonly record struct Mode(bool Write, bool Supervisor, bool Execute, bool WriteProtect, bool NoExecute, bool SupervisorExecuteProtect);

    /// <summary>
    /// Walks the table at <paramref name="root"/> for <paramref name="iova"/>.
    /// </summary>
    /// <param name="root">FLPTPTR: the FL-PML4 (or FL-PML5) table.</param>
    /// <param name="levels">4 or 5 (FLPM 00b or 01b).</param>
    /// <param name="iova">The input address.</param>
    /// <param name="mode">The request and the PASID entry's controls.</param>
    /// <param name="updateAccessedDirty">Set A and D (a translation); false for a look that must not write (the sanitizer).</param>
    /// <returns>The page and the mode's rights, or where and why it stopped.</returns>
    public FirstLevelWalk Walk(ulong root, int levels, ulong iova, in Mode mode, bool updateAccessedDirty = true) =>
        Walk(root, levels, iova, mode, updateAccessedDirty, default);

    /// <summary>The second stage of a nested walk (VT-d spec 3.8): the table that maps the first level's GPAs (its table
    /// pointers and its output) to HPAs.</summary>
    /// <param name="Walker">The second-level walker.</param>
    /// <param name="Root">SLPTPTR.</param>
    /// <param name="Levels">Its levels (AW + 2).</param>
    internal readonly record struct SecondStage(SecondLevelWalker? Walker, ulong Root, int Levels);

    /// <summary>A walk, nested when <paramref name="stage2"/> has a walker: every first-level table pointer and the
    /// output are GPAs translated by the second stage; A/D updates need its write permission; the result's page is the
    /// smaller of the two stages' pages and its rights those both grant.</summary>
    internal FirstLevelWalk Walk(ulong root, int levels, ulong iova, in Mode mode, bool updateAccessedDirty, in SecondStage stage2)
    {
        int top = levels == 5 ? 57 : 48;
        if (((long)iova >> (top - 1)) is not (0 or -1))
            return new FirstLevelWalk(FirstLevelWalkStatus.NotCanonical, levels, 0, 0, DmaProtection.None, false, 0);
        Span<ulong> path = stackalloc ulong[5];
        Span<ulong> seen = stackalloc ulong[5];
        for (int attempt = 0; ; attempt++)
        {
            FirstLevelWalk walk = WalkOnce(root, levels, iova, mode, path, seen, out int used, stage2, out int readOnlyTables);
            if (!walk.IsSuccess)
                return walk;
            if (stage2.Walker != null)
                walk = Output(walk, iova, mode, stage2);
            if (!walk.IsSuccess || !updateAccessedDirty)
                return walk;
            // A in every entry used, D in the leaf for a write: a locked update of each entry that still holds what the
            // walk read; an entry changed meanwhile makes the walk start again (bounded: a changing table wins).
            bool raced = false;
            for (int i = 0; i < used && !raced; i++)
            {
                ulong wanted = seen[i] | FirstLevelEntry.Accessed.Mask | (i == used - 1 && mode.Write ? FirstLevelEntry.Dirty.Mask : 0);
                if (wanted == seen[i])
                    continue;
                if ((readOnlyTables & (1 << i)) != 0)
                    return walk with { Status = FirstLevelWalkStatus.NestedTableWriteDenied, Level = levels - i, Permissions = DmaProtection.None };
                raced = memory.CompareExchangeUInt64(path[i], wanted, seen[i]) != seen[i];
            }
            if (!raced || attempt == 3)
                return walk with { Dirty = walk.Dirty || mode.Write };
        }
    }

    private FirstLevelWalk WalkOnce(ulong root, int levels, ulong iova, in Mode mode, Span<ulong> path, Span<ulong> seen, out int used,
        in SecondStage stage2, out int readOnlyTables)
    {
        used = 0;
        readOnlyTables = 0;
        ulong table = root;
        bool writable = true, user = true, executeDisabled = false;
        for (int level = levels; level >= 1; level--)
        {
            int shift = 12 + 9 * (level - 1);
            if (stage2.Walker != null)
            {
                // The table pointer is a GPA: the second stage must map it readable.
                WalkResult tableWalk = stage2.Walker.Walk(stage2.Root, stage2.Levels, table, DmaAccess.Read);
                if (!tableWalk.IsSuccess)
                    return Stop(FirstLevelWalkStatus.NestedTableFault, level, 0) with { SecondStageStatus = tableWalk.Status };
                if ((tableWalk.Permissions & DmaProtection.Write) == 0)
                    readOnlyTables |= 1 << used;
                table = tableWalk.Hpa;
            }
            ulong* page = memory.TablePointer(table);
            if (page == null)
                return Stop(FirstLevelWalkStatus.AccessError, level, 0);
            ulong index = (iova >> shift) & 511;
            ulong hpa = table + index * 8;
            ulong entry = Volatile.Read(ref page[index]);
            if (!FirstLevelEntry.Present.IsSet(entry))
                return Stop(FirstLevelWalkStatus.NotPresent, level, entry);
            bool large = FirstLevelEntry.PageSize.IsSet(entry) && level is 2 or 3;
            if ((entry & _reservedAboveHaw) != 0
                || (level >= 4 && FirstLevelEntry.PageSize.IsSet(entry))
                || (large && level == 3 && !oneGigabytePages)
                || (large && (entry & (((1UL << shift) - 1) & ~0x1FFFUL)) != 0))
                return Stop(FirstLevelWalkStatus.ReservedBitsSet, level, entry);
            path[used] = hpa;
            seen[used++] = entry;
            writable &= FirstLevelEntry.ReadWrite.IsSet(entry);
            user &= FirstLevelEntry.UserSupervisor.IsSet(entry);
            executeDisabled |= FirstLevelEntry.ExecuteDisable.IsSet(entry);
            if (level == 1 || large)
            {
                if (!mode.Supervisor && !user)
                    return Stop(FirstLevelWalkStatus.UserDenied, level, entry);
                if (mode.Execute && ((mode.NoExecute && executeDisabled) || (mode.Supervisor && mode.SupervisorExecuteProtect && user)))
                    return Stop(FirstLevelWalkStatus.ExecuteDenied, level, entry);
                bool mayWrite = writable || (mode.Supervisor && !mode.WriteProtect);
                if (mode.Write && !mayWrite)
                    return Stop(FirstLevelWalkStatus.WriteDenied, level, entry);
                ulong pageHpa = entry & FirstLevelEntry.Address.Mask & ~((1UL << shift) - 1);
                return new FirstLevelWalk(FirstLevelWalkStatus.Success, level, pageHpa, shift,
                    mayWrite ? DmaProtection.ReadWrite : DmaProtection.Read, FirstLevelEntry.Dirty.IsSet(entry), entry);
            }
            table = entry & FirstLevelEntry.Address.Mask;
        }
        throw new InvalidOperationException("unreachable: level 1 is always a leaf");
    }

    /// <summary>The second stage of the output: the first level's GPA to an HPA with the request's access.</summary>
    private static FirstLevelWalk Output(FirstLevelWalk walk, ulong iova, in Mode mode, in SecondStage stage2)
    {
        ulong gpa = walk.PageHpa | (iova & ((1UL << walk.PageShift) - 1));
        WalkResult output = stage2.Walker!.Walk(stage2.Root, stage2.Levels, gpa, mode.Write ? DmaAccess.Write : DmaAccess.Read);
        if (!output.IsSuccess)
            return walk with { Status = FirstLevelWalkStatus.NestedOutputFault, SecondStageStatus = output.Status, Permissions = DmaProtection.None };
        int shift = Math.Min(walk.PageShift, BitOperations.Log2(output.PageSize));
        return walk with
        {
            PageHpa = output.Hpa & ~((1UL << shift) - 1),
            PageShift = shift,
            Permissions = walk.Permissions & output.Permissions,
        };
    }

    private static FirstLevelWalk Stop(FirstLevelWalkStatus status, int level, ulong entry) =>
        new(status, level, 0, 0, DmaProtection.None, false, entry);
}
