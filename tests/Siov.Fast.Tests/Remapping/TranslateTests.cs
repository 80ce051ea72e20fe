using Siov.Fast.Caching;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.Remapping;

/// <summary>Translation through both modes' tables, against hand-computed HPAs and the spec's fault codes.</summary>
public class TranslateTests
{
    private const ulong Iova = 0x1_0000_0000;
    private const ulong Hpa = 0x100_0000_0000;

    [Fact]
    public void Scalable_RidPasidAndPasid_TranslateThroughTheirOwnTables()
    {
        using var f = UnitFixture.Scalable();
        using SecondLevelPageTable primary = f.NewTable();
        using SecondLevelPageTable aux = f.NewTable();
        primary.Map(Iova, Hpa, 0x1000, DmaProtection.ReadWrite);
        aux.Map(Iova, Hpa + 0x20_0000, 0x20_0000, DmaProtection.Read);
        f.Unit.AttachDevice(UnitFixture.Rid0100, domainId: 1, primary);
        f.Unit.SetupPasidSecondLevel(UnitFixture.Rid0100, pasid: 5, domainId: 2, aux);

        TranslationResult noPasid = f.Unit.Translate(UnitFixture.Rid0100, null, Iova + 0x123, DmaAccess.Write);
        Assert.Equal((true, Hpa + 0x123, 0x1000UL, DmaProtection.ReadWrite), (noPasid.IsSuccess, noPasid.Hpa, noPasid.PageSize, noPasid.Permissions));

        TranslationResult withPasid = f.Unit.Translate(UnitFixture.Rid0100, 5, Iova + 0x1_2345, DmaAccess.Read);
        Assert.Equal((Hpa + 0x20_0000 + 0x1_2345, 0x20_0000UL, DmaProtection.Read), (withPasid.Hpa, withPasid.PageSize, withPasid.Permissions));

        // The second request of each hits the IOTLB.
        Assert.Equal(noPasid, f.Unit.Translate(UnitFixture.Rid0100, null, Iova + 0x123, DmaAccess.Write));
        Assert.Equal(withPasid, f.Unit.Translate(UnitFixture.Rid0100, 5, Iova + 0x1_2345, DmaAccess.Read));
        RemappingStatistics stats = f.Unit.Statistics;
        Assert.Equal((4L, 2L, 2L, 2L, 0L), (stats.Translations, stats.IotlbHits, stats.IotlbMisses, stats.PageWalks, stats.Faults));
    }

    [Fact]
    public void Scalable_TablesAreInSpecFormat_AtTheAddressesTheHardwareReads()
    {
        using var f = UnitFixture.Scalable();
        using SecondLevelPageTable table = f.NewTable();
        f.Unit.SetupPasidSecondLevel(0x0100, pasid: 0x41, domainId: 7, table);
        PhysicalMemory m = f.Memory;

        ulong rootTable = f.Unit.RootTableAddress & ~0xFFFUL;
        Assert.Equal(1UL << 10, f.Unit.RootTableAddress & 0xC00); // TTM = 01b
        ulong rootLow = m.ReadUInt64(rootTable + 1 * 16);          // bus 1, devfn 0 < 128: lower half
        Assert.Equal(1UL, rootLow & 0xFFF);
        ulong context = rootLow & ~0xFFFUL;                          // devfn 0: entry 0
        Assert.Equal(context, f.Unit.GetContextEntryAddress(0x0100));
        ulong q0 = m.ReadUInt64(context);
        // P, PASIDE, PDTS = 20 - 6 - 7 = 7 in bits 11:9; DTE (bit 2) stays clear: the function's ATS was not enabled.
        Assert.Equal(1UL | 8 | 7UL << 9, q0 & 0xFFF);
        Assert.Equal(0UL, m.ReadUInt64(context + 8));                // RID_PASID 0
        ulong directory = q0 & ~0xFFFUL;
        ulong directoryEntry = m.ReadUInt64(directory + (0x41 >> 6) * 8);
        Assert.Equal(1UL, directoryEntry & 0xFFF);
        ulong pasidEntry = (directoryEntry & ~0xFFFUL) + (0x41 & 63) * 64;
        Assert.Equal(pasidEntry, f.Unit.GetPasidEntryAddress(0x0100, 0x41));
        // P, AW = 2 (4-level) in 4:2, PGTT = 010b in 8:6, SLPTPTR = the table's root.
        Assert.Equal(table.RootHpa | 2UL << 6 | 2UL << 2 | 1, m.ReadUInt64(pasidEntry));
        Assert.Equal(7UL, m.ReadUInt64(pasidEntry + 8));             // DID
    }

    [Fact]
    public void Scalable_FaultReasons_FollowTheSpecCodes()
    {
        using var f = UnitFixture.Scalable();
        using SecondLevelPageTable table = f.NewTable();
        table.Map(Iova, Hpa, 0x1000, DmaProtection.Read);
        table.Map(Iova + 0x1000, Hpa + 0x1000, 0x1000, DmaProtection.Write);
        f.Unit.AttachDevice(0x0100, 1, table);
        f.Unit.SetupPasidSecondLevel(0x0100, 3, 1, table);

        Assert.Equal(FaultReason.SmRootEntryNotPresent, f.Unit.Translate(0x0200, null, Iova, DmaAccess.Read).Fault);
        Assert.Equal(FaultReason.SmContextEntryNotPresent, f.Unit.Translate(0x0108, null, Iova, DmaAccess.Read).Fault);
        Assert.Equal(FaultReason.SmRootEntryNotPresent, f.Unit.Translate(0x0180, null, Iova, DmaAccess.Read).Fault); // upper half
        Assert.Equal(FaultReason.SmPasidEntryNotPresent, f.Unit.Translate(0x0100, 4, Iova, DmaAccess.Read).Fault);
        Assert.Equal(FaultReason.SmPasidDirectoryNotPresent, f.Unit.Translate(0x0100, 64, Iova, DmaAccess.Read).Fault);
        Assert.Equal(FaultReason.SmPasidTooLarge, f.Unit.Translate(0x0100, 1u << 20, Iova, DmaAccess.Read).Fault);
        Assert.Equal(FaultReason.SmSecondLevelNotPresent, f.Unit.Translate(0x0100, 3, Iova + 0x2000, DmaAccess.Read).Fault);
        Assert.Equal(FaultReason.SmNoWritePermission, f.Unit.Translate(0x0100, null, Iova, DmaAccess.Write).Fault);
        Assert.Equal(FaultReason.SmNoReadPermission, f.Unit.Translate(0x0100, null, Iova + 0x1000, DmaAccess.Read).Fault);
        Assert.Equal(FaultReason.SmNoWritePermission, f.Unit.Translate(0x0100, null, Iova, DmaAccess.ReadWrite).Fault);
        Assert.Equal(FaultReason.SmAddressBeyondWidth, f.Unit.Translate(0x0100, null, 1UL << 48, DmaAccess.Read).Fault);
        Assert.Equal(FaultReason.SmAddressBeyondWidth, f.Unit.Translate(0x0100, null, 1UL << 60, DmaAccess.Read).Fault); // above MGAW 57
        Assert.Equal(12L, f.Unit.Statistics.Faults);
        Assert.Equal(12, f.Unit.Faults.Count);
    }

    [Fact]
    public void Legacy_TranslatesAndFaultsWithTheLegacyCodes()
    {
        using var f = UnitFixture.Legacy();
        Assert.False(f.Unit.IsScalableMode);
        using SecondLevelPageTable table = f.NewTable();
        table.Map(0x7c34_5000, 0x8_0000_0000, 0x1000, DmaProtection.Read);
        f.Unit.AttachDevice(UnitFixture.Rid0010, 1, table);
        f.Unit.AttachDevice(0x0018, 2, null); // 00:03.0 pass-through

        Assert.Equal(0x8_0000_0abcUL, f.Unit.Translate(0x0010, null, 0x7c34_5abc, DmaAccess.Read).Hpa);
        TranslationResult passThrough = f.Unit.Translate(0x0018, null, 0xdead_b000, DmaAccess.Write);
        Assert.Equal((true, 0xdead_b000UL), (passThrough.IsSuccess, passThrough.Hpa));

        Assert.Equal(FaultReason.RootEntryNotPresent, f.Unit.Translate(0x0300, null, 0, DmaAccess.Read).Fault);
        Assert.Equal(FaultReason.ContextEntryNotPresent, f.Unit.Translate(0x0020, null, 0, DmaAccess.Read).Fault);
        Assert.Equal(FaultReason.PteReadAccessNotSet, f.Unit.Translate(0x0010, null, 0x7c34_6000, DmaAccess.Read).Fault);
        Assert.Equal(FaultReason.PteWriteAccessNotSet, f.Unit.Translate(0x0010, null, 0x7c34_6000, DmaAccess.Write).Fault);
        Assert.Equal(FaultReason.PteWriteAccessNotSet, f.Unit.Translate(0x0010, null, 0x7c34_5000, DmaAccess.Write).Fault);
        Assert.Equal(FaultReason.AccessBeyondMgaw, f.Unit.Translate(0x0010, null, 1UL << 39, DmaAccess.Read).Fault);
        Assert.Equal(FaultReason.SmLegacyModeRequestWithPasid, f.Unit.Translate(0x0010, 1, 0, DmaAccess.Read).Fault);
    }

    [Fact]
    public void FaultLog_PrintsFaultsTheWayLinuxDoes()
    {
        using var f = UnitFixture.Legacy();
        using SecondLevelPageTable table = f.NewTable();
        f.Unit.AttachDevice(0x0010, 1, table);
        f.Unit.Translate(0x0010, null, 0x7c34_6abc, DmaAccess.Read);

        Assert.True(f.Unit.Faults.TryRead(out FaultRecord record));
        Assert.Equal(
            "DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x7c346000 [fault reason 0x06] PTE Read access is not set",
            record.ToLinuxString());

        using var s = UnitFixture.Scalable();
        using SecondLevelPageTable t2 = s.NewTable();
        s.Unit.SetupPasidSecondLevel(0x2f01, 0x1a, 3, t2);
        s.Unit.Translate(0x2f01, 0x1a, 0x7ebb_0123, DmaAccess.Write);
        Assert.True(s.Unit.Faults.TryRead(out FaultRecord pasidRecord));
        Assert.Equal(
            "DMAR: [DMA Write PASID 0x1a] Request device [2f:00.1] fault addr 0x7ebb0000 [fault reason 0x79] SM: Read/Write permission error in second-level paging entry",
            pasidRecord.ToLinuxString());
    }

    [Fact]
    public void FaultLog_Overflow_SetsPfoAndDropsUntilCleared()
    {
        using var f = UnitFixture.Scalable(new RemappingUnitOptions { FaultLogCapacity = 2 });
        for (int i = 0; i < 3; i++)
            f.Unit.Translate(0x0500, null, (ulong)i << 12, DmaAccess.Read);
        FaultLog log = f.Unit.Faults;
        Assert.Equal((2, true, 2L, 1L), (log.Count, log.PrimaryFaultOverflow, log.Recorded, log.Dropped));

        Assert.Equal(new ulong[] { 0, 0x1000 }, log.ReadAll().Select(r => r.Address));
        f.Unit.Translate(0x0500, null, 0x3000, DmaAccess.Read);
        Assert.Equal(0, log.Count); // PFO still set: nothing is recorded
        log.ClearOverflow();
        f.Unit.Translate(0x0500, null, 0x4000, DmaAccess.Read);
        Assert.Equal(0x4000UL, Assert.Single(log.Peek()).Address);
        Assert.Equal(5L, f.Unit.Statistics.Faults);
    }

    [Fact]
    public void FaultProcessingDisable_CountsButDoesNotRecord()
    {
        using var f = UnitFixture.Scalable();
        using SecondLevelPageTable table = f.NewTable();
        f.Unit.SetupPasidSecondLevel(0x0100, 9, 1, table, faultProcessingDisable: true);
        Assert.Equal(FaultReason.SmSecondLevelNotPresent, f.Unit.Translate(0x0100, 9, Iova, DmaAccess.Read).Fault);
        Assert.Equal((0, 1L), (f.Unit.Faults.Count, f.Unit.Statistics.Faults));
    }

    [Fact]
    public void PassThrough_ReturnsTheIova()
    {
        using var f = UnitFixture.Scalable();
        f.Unit.AttachDevice(0x0100, 1, null);
        f.Unit.SetupPasidPassThrough(0x0100, 2, 1);
        Assert.Equal(0x1234_5678UL, f.Unit.Translate(0x0100, null, 0x1234_5678, DmaAccess.ReadWrite).Hpa);
        Assert.Equal(0xabc0UL, f.Unit.Translate(0x0100, 2, 0xabc0, DmaAccess.Read).Hpa);
        Assert.Equal(2L, f.Unit.Statistics.PassThrough);
    }

    [Fact]
    public void Caches_HoldStaleEntriesUntilInvalidated()
    {
        using var f = UnitFixture.Scalable();
        using SecondLevelPageTable table = f.NewTable();
        table.Map(Iova, Hpa, 0x1000, DmaProtection.ReadWrite);
        f.Unit.AttachDevice(0x0100, 1, table);
        Assert.True(f.Unit.Translate(0x0100, null, Iova, DmaAccess.Read).IsSuccess);

        // Unmap without invalidation: the IOTLB still answers, as on hardware.
        table.Unmap(Iova, 0x1000);
        Assert.Equal(Hpa, f.Unit.Translate(0x0100, null, Iova, DmaAccess.Read).Hpa);
        Assert.Equal(1, f.Unit.InvalidateIotlbRange(1, null, Iova, 0x1000));
        Assert.Equal(FaultReason.SmSecondLevelNotPresent, f.Unit.Translate(0x0100, null, Iova, DmaAccess.Read).Fault);

        // Clear the PASID entry's present bit behind the unit's back: the PASID cache still answers.
        table.Map(Iova, Hpa, 0x1000, DmaProtection.ReadWrite);
        ulong entry = f.Unit.GetPasidEntryAddress(0x0100, 0)!.Value;
        f.Memory.WriteUInt64(entry, f.Memory.ReadUInt64(entry) & ~1UL);
        Assert.True(f.Unit.Translate(0x0100, null, Iova, DmaAccess.Read).IsSuccess);
        Assert.Equal(1, f.Unit.InvalidatePasidCache(1, 0));
        Assert.Equal(FaultReason.SmPasidEntryNotPresent, f.Unit.Translate(0x0100, null, Iova, DmaAccess.Read).Fault);
    }

    [Fact]
    public void ForgedEntries_GiveReservedAndInvalidEntryFaults()
    {
        using var f = UnitFixture.Legacy();
        using SecondLevelPageTable table = f.NewTable();
        table.Map(0x1000, 0x2000, 0x1000, DmaProtection.Read);
        f.Unit.AttachDevice(0x0010, 1, table);
        ulong context = f.Unit.GetContextEntryAddress(0x0010)!.Value;
        ulong low = f.Memory.ReadUInt64(context);
        f.Memory.WriteUInt64(context, low | 1UL << 5);             // reserved bit 5
        f.Unit.InvalidateContextCacheDevice(0x0010);
        Assert.Equal(FaultReason.ContextEntryReservedBits, f.Unit.Translate(0x0010, null, 0x1000, DmaAccess.Read).Fault);
        f.Memory.WriteUInt64(context, low | 3UL << 2);              // TT = 11b
        f.Unit.InvalidateContextCacheDevice(0x0010);
        Assert.Equal(FaultReason.InvalidContextEntry, f.Unit.Translate(0x0010, null, 0x1000, DmaAccess.Read).Fault);
        f.Memory.WriteUInt64(context + 8, 2UL | 1UL << 8);          // AW = 2 (4-level): not in this SAGAW
        f.Memory.WriteUInt64(context, low);
        f.Unit.InvalidateContextCacheDevice(0x0010);
        Assert.Equal(FaultReason.InvalidContextEntry, f.Unit.Translate(0x0010, null, 0x1000, DmaAccess.Read).Fault);

        using var s = UnitFixture.Scalable();
        using SecondLevelPageTable t2 = s.NewTable();
        s.Unit.SetupPasidSecondLevel(0x0100, 1, 1, t2);
        ulong pasidEntry = s.Unit.GetPasidEntryAddress(0x0100, 1)!.Value;
        ulong q0 = s.Memory.ReadUInt64(pasidEntry);
        s.Memory.WriteUInt64(pasidEntry, (q0 & ~(7UL << 6)) | 6UL << 6); // PGTT = 110b: reserved
        Assert.Equal(FaultReason.SmInvalidPasidEntry, s.Unit.Translate(0x0100, 1, 0, DmaAccess.Read).Fault);
        s.Memory.WriteUInt64(pasidEntry, (q0 & ~(7UL << 6)) | 5UL << 6); // PGTT = 101b: reserved
        Assert.Equal(FaultReason.SmInvalidPasidEntry, s.Unit.Translate(0x0100, 1, 0, DmaAccess.Read).Fault);
        s.Memory.WriteUInt64(pasidEntry, q0 | 1UL << 10);                  // reserved bit 10
        Assert.Equal(FaultReason.SmPasidEntryReservedBits, s.Unit.Translate(0x0100, 1, 0, DmaAccess.Read).Fault);
        ulong rootLow = s.Memory.ReadUInt64((s.Unit.RootTableAddress & ~0xFFFUL) + 16);
        s.Memory.WriteUInt64((s.Unit.RootTableAddress & ~0xFFFUL) + 16, rootLow | 1UL << 4);
        s.Unit.InvalidateContextCache();
        Assert.Equal(FaultReason.SmRootEntryReservedBits, s.Unit.Translate(0x0100, 1, 0, DmaAccess.Read).Fault);
    }

    [Fact]
    public void Batch_GivesExactlyWhatSingleCallsGive()
    {
        var random = new Random(7);
        var requests = new DmaRequest[5000];
        for (int i = 0; i < requests.Length; i++)
        {
            uint? pasid = random.Next(4) switch { 0 => null, 1 => 1u, 2 => 2u, _ => (uint)random.Next(0, 1 << 21) };
            requests[i] = new DmaRequest((ushort)(random.Next(3) == 0 ? 0x0108 : 0x0100), pasid,
                Iova + (ulong)random.Next(0, 1 << 24), (DmaAccess)random.Next(0, 4));
        }

        TranslationResult[] Run(bool batch)
        {
            using var f = UnitFixture.Scalable(new RemappingUnitOptions { FaultLogCapacity = 1 });
            using SecondLevelPageTable a = f.NewTable();
            using SecondLevelPageTable b = f.NewTable();
            a.Map(Iova, Hpa, 8 << 20, DmaProtection.ReadWrite);
            b.Map(Iova + 0x40_0000, Hpa + 0x4000_0000, 4 << 20, DmaProtection.Read);
            f.Unit.AttachDevice(0x0100, 1, a);
            f.Unit.SetupPasidSecondLevel(0x0100, 1, 2, b);
            f.Unit.SetupPasidPassThrough(0x0100, 2, 3);
            var results = new TranslationResult[requests.Length];
            if (batch)
                f.Unit.Translate(requests, results);
            else
                for (int i = 0; i < requests.Length; i++)
                    results[i] = f.Unit.Translate(requests[i]);
            return results;
        }

        TranslationResult[] single = Run(false);
        Assert.Equal(single, Run(true));
        Assert.Contains(single, r => r.IsSuccess);
        Assert.Contains(single, r => !r.IsSuccess);
    }

    /// <summary>Every probe path with one page size cached (the batch loop's inline probe: Vector256
    /// or Vector128; Scalar goes to the general lookup) and with two (the general lookup).</summary>
    public static TheoryData<IotlbProbePath, bool> PathsAndSizes()
    {
        var data = new TheoryData<IotlbProbePath, bool>();
        foreach (var path in new[] { IotlbProbePath.Vector256, IotlbProbePath.Vector128, IotlbProbePath.Scalar }.Where(Iotlb.IsSupported))
        {
            data.Add(path, false);
            data.Add(path, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(PathsAndSizes))]
    public void Batch_SecondPassHits_MatchHandComputedHpas_OnEveryPath_WithOneOrTwoPageSizesCached(IotlbProbePath path, bool mixed)
    {
        // A small IOTLB (512 sets) for about 1,300 entries: every way of a set is used, and some evicted.
        using var f = UnitFixture.Scalable(new RemappingUnitOptions { IotlbProbePath = path, IotlbCapacity = 1536 });
        Assert.Equal((path, 512), (f.Unit.Iotlb.Path, f.Unit.Iotlb.Sets));
        using SecondLevelPageTable table = f.NewTable();
        table.Map(Iova, Hpa + 0x1000, 4 << 20, DmaProtection.ReadWrite);               // 4 MiB of 4 KiB pages (HPA off 2 MiB)...
        if (mixed)
            table.Map(Iova + 0x4000_0000, Hpa + 0x4000_0000, 8 << 20, DmaProtection.Read); // ...and 2 MiB leaves
        f.Unit.AttachDevice(UnitFixture.Rid0100, 1, table);
        f.Unit.SetupPasidSecondLevel(UnitFixture.Rid0100, 9, 1, table);

        var random = new Random(mixed ? 11 : 12);
        var requests = new DmaRequest[3000];
        var expected = new ulong[requests.Length];
        for (int i = 0; i < requests.Length; i++)
        {
            bool large = mixed && random.Next(2) == 0;
            ulong offset = (ulong)random.Next(0, large ? 8 << 20 : 4 << 20);
            ulong iova = Iova + (large ? 0x4000_0000UL : 0) + offset;
            requests[i] = new DmaRequest(UnitFixture.Rid0100, random.Next(3) == 0 ? 9u : null, iova, DmaAccess.Read);
            expected[i] = Hpa + (large ? 0x4000_0000UL : 0x1000UL) + offset;
        }

        var results = new TranslationResult[requests.Length];
        f.Unit.Translate(requests, results);                                              // fills the IOTLB
        long hitsBefore = f.Unit.Statistics.IotlbHits;
        f.Unit.Translate(requests, results);                                              // mostly hits
        Assert.Equal(expected, results.Select(r => r.Hpa));
        Assert.All(results, r => Assert.True(r.IsSuccess && r.PageSize == (r.Hpa >= Hpa + 0x4000_0000 ? 0x20_0000UL : 0x1000UL)));
        long hits = f.Unit.Statistics.IotlbHits - hitsBefore;
        Assert.True(hits > requests.Length / 2, $"{hits} hits");
    }

    [Fact]
    public void Port_TranslatesAsTheUnit_AndCountsInTheUnitsStatistics()
    {
        using var f = UnitFixture.Scalable();
        using SecondLevelPageTable table = f.NewTable();
        table.Map(Iova, Hpa + 0x1000, 1 << 20, DmaProtection.Read);
        f.Unit.AttachDevice(UnitFixture.Rid0100, 1, table);
        var requests = new DmaRequest[500];
        var random = new Random(5);
        for (int i = 0; i < requests.Length; i++)
            requests[i] = new DmaRequest(UnitFixture.Rid0100, null, Iova + (ulong)random.Next(0, 2 << 20), (DmaAccess)random.Next(1, 3));

        TranslationPort port = f.Unit.OpenPort();
        Assert.Same(f.Unit, port.Unit);
        TranslationResult[] viaPort = requests.Select(r => port.Translate(r)).ToArray();
        var batch = new TranslationResult[requests.Length];
        port.Translate(requests, batch);
        long before = f.Unit.Statistics.Translations;
        TranslationResult[] viaUnit = requests.Select(r => f.Unit.Translate(r)).ToArray();

        Assert.Equal(viaUnit, viaPort);
        Assert.Equal(viaUnit, batch);
        for (int i = 0; i < requests.Length; i++)
        {
            ulong offset = requests[i].Iova - Iova;
            if (offset < 1 << 20 && requests[i].Access == DmaAccess.Read)
                Assert.Equal(Hpa + 0x1000 + offset, viaUnit[i].Hpa);
        }
        Assert.Contains(viaUnit, r => r.Fault == FaultReason.SmNoWritePermission);          // writes to the read-only range
        Assert.Contains(viaUnit, r => r.Fault == FaultReason.SmSecondLevelNotPresent);      // beyond its 1 MiB
        RemappingStatistics stats = f.Unit.Statistics;
        Assert.Equal(3L * requests.Length, stats.Translations);                              // the port's 1,000 and the unit's 500
        Assert.Equal(before + requests.Length, stats.Translations);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => port.Translate(requests, new TranslationResult[1])).Code);
    }

    [Fact]
    public void Batch_ShortResultSpan_IsEinvalAndTranslatesNothing()
    {
        using var f = UnitFixture.Scalable();
        var e = Assert.Throws<IommuException>(() => f.Unit.Translate(new DmaRequest[2], new TranslationResult[1]));
        Assert.Equal(Errno.EINVAL, e.Code);
        Assert.Equal(0L, f.Unit.Statistics.Translations);
    }

    [Fact]
    public void EpochReclamation_KeepsUnlinkedTablePagesUntilReadersLeave()
    {
        using var memory = new PhysicalMemory(16UL << 20);
        using var table = new SecondLevelPageTable(memory);
        table.Map(Iova, Hpa, 0x1000, DmaProtection.Read);
        int pagesWithMapping = memory.Frames.AllocatedFrames;

        using (memory.Reclaimer.Protect())
        {
            table.Unmap(Iova, 0x4000_0000); // covers the 1 GiB table range: frees the level-2 and level-1 pages
            Assert.Equal(2, memory.Reclaimer.PendingFrames);
            Assert.Equal(pagesWithMapping, memory.Frames.AllocatedFrames);
        }
        Assert.Equal(2, memory.Reclaimer.Drain()); // the level-2 and level-1 pages
        Assert.Equal(0, memory.Reclaimer.PendingFrames);
        Assert.Equal(pagesWithMapping - 2, memory.Frames.AllocatedFrames);
    }
}
