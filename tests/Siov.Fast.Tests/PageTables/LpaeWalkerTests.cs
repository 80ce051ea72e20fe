using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.PageTables;

/// <summary>
/// AArch64 4 KiB-granule walks against descriptors written here bit by bit from the Arm ARM's formats (no engine type
/// builds them): bits 1:0 = 11 table/page, 01 block; AF bit 10; stage 1 AP[2:1] bits 7:6, PXN 53, UXN 54, APTable 62:61;
/// stage 2 S2AP bits 7:6 (6 read, 7 write), XN 54:53; the address in bits 47:12.
/// </summary>
public sealed class LpaeWalkerTests : IDisposable
{
    private const ulong Table = 0b11, Page = 0b11, Block = 0b01, Af = 1UL << 10, ApUser = 1UL << 6, ApReadOnly = 1UL << 7;
    private const ulong S2Read = 1UL << 6, S2Write = 1UL << 7, Uxn = 1UL << 54, Pxn = 1UL << 53, ApTableNoWrite = 1UL << 62;
    private readonly PhysicalMemory _memory = new(16UL << 20);
    private readonly LpaeWalker _walker;

    public LpaeWalkerTests() => _walker = new LpaeWalker(_memory);

    public void Dispose() => _memory.Dispose();

    private ulong NewTable() => _memory.Frames.Allocate();

    private static ulong Index(ulong va, int level) => (va >> (12 + 9 * (3 - level))) & 511;

    /// <summary>Links tables from <paramref name="root"/> (level <paramref name="start"/>) down to <paramref name="leafLevel"/>
    /// and writes <paramref name="leaf"/> there.</summary>
    private void Map(ulong root, int start, ulong va, int leafLevel, ulong leaf, ulong tableExtra = 0)
    {
        ulong table = root;
        for (int level = start; level < leafLevel; level++)
        {
            ulong slot = table + Index(va, level) * 8;
            ulong entry = _memory.ReadUInt64(slot);
            if ((entry & 1) == 0)
            {
                entry = NewTable() | Table | tableExtra;
                _memory.WriteUInt64(slot, entry);
            }
            table = entry & 0xFFFF_FFFF_F000;
        }
        _memory.WriteUInt64(table + Index(va, leafLevel) * 8, leaf);
    }

    private static LpaeWalker.Access Read => new(false, false, false);

    private static LpaeWalker.Access Write => new(true, false, false);

    [Fact]
    public void Stage1PageAndBlocks()
    {
        ulong root = NewTable();
        var stage = new LpaeStage(root, 48, 0, 48);
        Map(root, 0, 0x4000_1000, 3, 0x80_2000 | Page | Af | ApUser);
        Map(root, 0, 0x8020_0000, 2, 0x60_0000 | Block | Af | ApUser);
        Map(root, 0, 0xC000_0000, 1, 0x4000_0000 | Block | Af | ApUser | ApReadOnly);

        Assert.Equal(new LpaeWalk(LpaeWalkStatus.Success, 3, 0x80_2000, 12, DmaProtection.ReadWrite),
            _walker.WalkStage1(stage, 0x4000_1234, Write, default, nested: false));
        Assert.Equal(new LpaeWalk(LpaeWalkStatus.Success, 2, 0x60_0000, 21, DmaProtection.ReadWrite),
            _walker.WalkStage1(stage, 0x8021_0000, Read, default, nested: false));
        Assert.Equal(new LpaeWalk(LpaeWalkStatus.Success, 1, 0x4000_0000, 30, DmaProtection.Read),
            _walker.WalkStage1(stage, 0xC123_4567, Read, default, nested: false));
        Assert.Equal(LpaeWalkStatus.Permission, _walker.WalkStage1(stage, 0xC123_4567, Write, default, nested: false).Status);
    }

    [Fact]
    public void Stage1Faults()
    {
        ulong root = NewTable();
        var stage = new LpaeStage(root, 39, 1, 40);
        Map(root, 1, 0x1000, 3, 0x2000 | Page | ApUser);                         // no AF
        Map(root, 1, 0x3000, 3, 0x4000 | Page | Af);                             // privileged only
        Map(root, 1, 0x5000, 3, 0x6000 | Block | Af | ApUser);                   // bits 1:0 = 01 at level 3: invalid
        Map(root, 1, 0x7000, 3, (1UL << 41) | Page | Af | ApUser);               // beyond the 40-bit output
        Map(root, 1, 0x4000_0000, 3, 0x9000 | Page | Af | ApUser, tableExtra: ApTableNoWrite);

        Assert.Equal(LpaeWalkStatus.AccessFlag, _walker.WalkStage1(stage, 0x1000, Read, default, false).Status);
        Assert.True(_walker.WalkStage1(stage with { AccessFlagFaultDisable = true }, 0x1000, Read, default, false).IsSuccess);
        Assert.Equal(LpaeWalkStatus.Permission, _walker.WalkStage1(stage, 0x3000, Read, default, false).Status);
        Assert.True(_walker.WalkStage1(stage, 0x3000, new LpaeWalker.Access(false, true, false), default, false).IsSuccess);
        Assert.Equal(LpaeWalkStatus.Translation, _walker.WalkStage1(stage, 0x5000, Read, default, false).Status);
        Assert.Equal(LpaeWalkStatus.AddressSize, _walker.WalkStage1(stage, 0x7000, Read, default, false).Status);
        Assert.Equal(LpaeWalkStatus.Translation, _walker.WalkStage1(stage, 0x20_0000, Read, default, false).Status); // not mapped
        Assert.Equal(LpaeWalkStatus.Translation, _walker.WalkStage1(stage, 1UL << 39, Read, default, false).Status); // beyond T0SZ
        Assert.Equal(LpaeWalkStatus.Permission, _walker.WalkStage1(stage, 0x4000_0000, Write, default, false).Status); // APTable
        Assert.Equal(DmaProtection.Read, _walker.WalkStage1(stage, 0x4000_0000, Read, default, false).Permissions);
    }

    [Fact]
    public void ExecuteNever()
    {
        ulong root = NewTable();
        var stage = new LpaeStage(root, 39, 1, 40);
        Map(root, 1, 0x1000, 3, 0x2000 | Page | Af | ApUser | Uxn);
        Map(root, 1, 0x3000, 3, 0x4000 | Page | Af | ApUser | Pxn);
        var userExec = new LpaeWalker.Access(false, false, true);
        var privExec = new LpaeWalker.Access(false, true, true);
        Assert.Equal(LpaeWalkStatus.Permission, _walker.WalkStage1(stage, 0x1000, userExec, default, false).Status);
        Assert.True(_walker.WalkStage1(stage, 0x1000, privExec, default, false).IsSuccess);
        Assert.True(_walker.WalkStage1(stage, 0x3000, userExec, default, false).IsSuccess);
        Assert.Equal(LpaeWalkStatus.Permission, _walker.WalkStage1(stage, 0x3000, privExec, default, false).Status);
    }

    [Fact]
    public void Stage2WithConcatenatedStartTables()
    {
        // 40-bit IPA starting at level 1: two concatenated level-1 tables (bit 39 picks the second).
        ulong root = _memory.Frames.AllocateContiguous(2);
        var stage = new LpaeStage(root, 40, 1, 48);
        Map(root + 0x1000, 1, 0x80_0000_1000 & 0x7F_FFFF_FFFF, 3, 0x5000 | Page | Af | S2Read);
        LpaeWalk walk = _walker.WalkStage2(stage, 0x80_0000_1000, write: false, execute: false);
        Assert.Equal(new LpaeWalk(LpaeWalkStatus.Success, 3, 0x5000, 12, DmaProtection.Read), walk);
        LpaeWalk denied = _walker.WalkStage2(stage, 0x80_0000_1000, write: true, execute: false);
        Assert.Equal((LpaeWalkStatus.Permission, true, 0x80_0000_1000UL), (denied.Status, denied.SecondStage, denied.FaultAddress));
    }

    [Fact]
    public void NestedTranslatesTablesAndOutputThroughStage2()
    {
        // Stage 2: identity for the low 16 MiB except IPA 0x20_0000 -> PA 0x30_0000 (the stage 1 output page).
        ulong s2root = NewTable();
        var s2 = new LpaeStage(s2root, 40, 1, 48);
        for (ulong ipa = 0; ipa < (16UL << 20); ipa += 0x20_0000)
        {
            if (ipa != 0x20_0000)
                Map(s2root, 1, ipa, 2, ipa | Block | Af | S2Read | S2Write);
        }
        Map(s2root, 1, 0x20_0000, 3, 0x30_0000 | Page | Af | S2Read);           // read-only at stage 2
        ulong s1root = NewTable();
        var s1 = new LpaeStage(s1root, 48, 0, 48);
        Map(s1root, 0, 0x1234_5000, 3, 0x20_0000 | Page | Af | ApUser);          // stage 1 output: IPA 0x20_0000

        LpaeWalk read = _walker.WalkStage1(s1, 0x1234_5678, Read, s2, nested: true);
        Assert.Equal(new LpaeWalk(LpaeWalkStatus.Success, 3, 0x30_0000, 12, DmaProtection.Read), read);
        LpaeWalk write = _walker.WalkStage1(s1, 0x1234_5678, Write, s2, nested: true);
        Assert.Equal((LpaeWalkStatus.Permission, true, false), (write.Status, write.SecondStage, write.TableWalk));

        // A stage 1 table at an IPA stage 2 does not map: a stage 2 fault during the table walk (CLASS = TT).
        ulong badRoot = 64UL << 20;
        LpaeWalk tableFault = _walker.WalkStage1(s1 with { TableBase = badRoot }, 0x1000, Read, s2, nested: true);
        Assert.Equal((LpaeWalkStatus.Translation, true, true, badRoot), (tableFault.Status, tableFault.SecondStage, tableFault.TableWalk, tableFault.FaultAddress));
    }

    [Fact]
    public void StartLevelFollowsTheInputSize()
    {
        Assert.Equal([0, 1, 1, 2], new[] { 48, 39, 32, 30 }.Select(LpaeStage.StartLevelFor));
    }
}
