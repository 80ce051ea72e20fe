using Siov.Fast.Memory;

namespace Siov.Fast.PageTables;

/// <summary>
/// Walks AArch64 VMSAv8-64 tables with the 4 KiB granule from simulated memory, as an SMMUv3 does (IHI 0070 3.4 and the
/// Arm ARM's translation table walk): stage 1 (a CD's TTB0), stage 2 (an STE's S2TTB), or nested, where every stage 1
/// table address and the stage 1 output are IPAs that stage 2 translates. Blocks at levels 1 and 2, pages at level 3;
/// stage 1 permissions from AP[2:1], APTable, UXN/PXN and XNTable, stage 2 from S2AP and XN; AF with AFFD. Never throws,
/// never allocates, takes no lock: the caller protects the walk against page reclamation.
/// </summary>
internal sealed class LpaeWalker(PhysicalMemory memory)
{
    /// <summary>What the request asks for.</summary>
    /// <param name="Write">A write.</param>
    /// <param name="Privileged">A privileged transaction (SMMU PnU = privileged).</param>
    /// <param name="Execute">An instruction fetch (InD).</param>
    public readonly record struct Access(bool Write, bool Privileged, bool Execute);

    /// <summary>A stage 2 walk of <paramref name="ipa"/>.</summary>
    public LpaeWalk WalkStage2(in LpaeStage stage, ulong ipa, bool write, bool execute)
    {
        LpaeWalk walk = WalkOne(stage, ipa, new Access(write, true, execute), stage2: true, default, nested: false);
        return walk.IsSuccess ? walk : walk with { SecondStage = true, FaultAddress = ipa };
    }

    /// <summary>A stage 1 walk, nested under <paramref name="stage2"/> when it has a table.</summary>
    public LpaeWalk WalkStage1(in LpaeStage stage1, ulong iova, Access access, in LpaeStage stage2, bool nested)
    {
        LpaeWalk first = WalkOne(stage1, iova, access, stage2: false, stage2, nested);
        if (!first.IsSuccess || !nested)
            return first;
        // The stage 1 output is an IPA: stage 2 maps it.
        ulong ipa = first.OutputPage | (iova & ((1UL << first.PageShift) - 1));
        LpaeWalk second = WalkStage2(stage2, ipa, access.Write, access.Execute);
        if (!second.IsSuccess)
            return second;
        int shift = Math.Min(first.PageShift, second.PageShift);
        ulong output = (second.OutputPage | (ipa & ((1UL << second.PageShift) - 1))) & ~((1UL << shift) - 1);
        return new LpaeWalk(LpaeWalkStatus.Success, first.Level, output, shift, first.Permissions & second.Permissions);
    }

    private LpaeWalk WalkOne(in LpaeStage stage, ulong input, Access access, bool stage2, in LpaeStage outer, bool nested)
    {
        int inputBits = stage.InputBits;
        if (inputBits < 64 && (input >> inputBits) != 0)
            return new LpaeWalk(LpaeWalkStatus.Translation, stage.StartLevel, 0, 0, DmaProtection.None, stage2);
        ulong outputLimit = stage.OutputBits >= 64 ? ulong.MaxValue : (1UL << stage.OutputBits) - 1;
        ulong table = stage.TableBase;
        bool tableNoWrite = false, tableNoUser = false, tableNoExecute = false;
        for (int level = stage.StartLevel; level <= 3; level++)
        {
            int shift = 12 + 9 * (3 - level);
            // At the start level every input bit above shift indexes (concatenated tables); below it, 9 bits.
            ulong index = level == stage.StartLevel
                ? (input & (inputBits >= 64 ? ulong.MaxValue : (1UL << inputBits) - 1)) >> shift
                : (input >> shift) & 511;
            ulong tableAddress = table;
            if (nested)
            {
                // Stage 1 tables live at IPAs.
                LpaeWalk s2 = WalkStage2(outer, table, write: false, execute: false);
                if (!s2.IsSuccess)
                    return s2 with { TableWalk = true, Level = level };
                tableAddress = s2.OutputPage | (table & ((1UL << s2.PageShift) - 1));
            }
            ulong at = tableAddress + index * 8;
            if (!memory.Contains(at, 8))
                return new LpaeWalk(LpaeWalkStatus.ExternalAbort, level, 0, 0, DmaProtection.None, stage2);
            ulong entry = memory.ReadUInt64(at);
            if (!LpaeEntry.Valid.IsSet(entry))
                return new LpaeWalk(LpaeWalkStatus.Translation, level, 0, 0, DmaProtection.None, stage2);
            bool tableOrPage = LpaeEntry.TableOrPage.IsSet(entry);
            ulong address = entry & LpaeEntry.AddressMask;
            if (address > outputLimit)
                return new LpaeWalk(LpaeWalkStatus.AddressSize, level, 0, 0, DmaProtection.None, stage2);
            if (level < 3 && tableOrPage)
            {
                if (!stage2)
                {
                    tableNoExecute |= LpaeEntry.ExecuteNeverTable.IsSet(entry) && !access.Privileged
                        || LpaeEntry.PrivilegedExecuteNeverTable.IsSet(entry) && access.Privileged;
                    ulong apTable = LpaeEntry.AccessPermissionsTable.Get(entry);
                    tableNoUser |= (apTable & 1) != 0;
                    tableNoWrite |= (apTable & 2) != 0;
                }
                table = address;
                continue;
            }
            // A leaf: a block at level 1 or 2, a page at level 3; level 0 has no blocks, and bit 1 clear at level 3 is invalid.
            if (level == 0 || (level == 3 && !tableOrPage))
                return new LpaeWalk(LpaeWalkStatus.Translation, level, 0, 0, DmaProtection.None, stage2);
            if ((address & ((1UL << shift) - 1)) != 0)
                address &= ~((1UL << shift) - 1); // the low bits of a block's address are RES0: ignored here
            if (!LpaeEntry.AccessFlag.IsSet(entry) && !stage.AccessFlagFaultDisable)
                return new LpaeWalk(LpaeWalkStatus.AccessFlag, level, 0, 0, DmaProtection.None, stage2);
            DmaProtection rights;
            bool canExecute;
            if (stage2)
            {
                ulong s2ap = LpaeEntry.Stage2AccessPermissions.Get(entry);
                rights = (DmaProtection)s2ap;
                canExecute = LpaeEntry.Stage2ExecuteNever.Get(entry) == 0;
            }
            else
            {
                ulong ap = LpaeEntry.AccessPermissions.Get(entry);
                bool userAllowed = (ap & 1) != 0 && !tableNoUser;
                bool writeAllowed = (ap & 2) == 0 && !tableNoWrite;
                if (!access.Privileged && !userAllowed)
                    return new LpaeWalk(LpaeWalkStatus.Permission, level, 0, 0, DmaProtection.None);
                rights = DmaProtection.Read | (writeAllowed ? DmaProtection.Write : 0);
                canExecute = !tableNoExecute && !(access.Privileged ? LpaeEntry.PrivilegedExecuteNever.IsSet(entry) : LpaeEntry.ExecuteNever.IsSet(entry));
            }
            bool denied = (access.Write ? (rights & DmaProtection.Write) == 0 : (rights & DmaProtection.Read) == 0)
                || (access.Execute && !canExecute);
            if (denied)
                return new LpaeWalk(LpaeWalkStatus.Permission, level, 0, 0, DmaProtection.None, stage2);
            return new LpaeWalk(LpaeWalkStatus.Success, level, address, shift, rights);
        }
        return new LpaeWalk(LpaeWalkStatus.Translation, 3, 0, 0, DmaProtection.None, stage2); // not reached
    }
}
