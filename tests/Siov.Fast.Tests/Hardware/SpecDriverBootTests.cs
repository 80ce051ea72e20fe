namespace Siov.Fast.Tests.Hardware;

/// <summary>
/// The remapping unit driven through its registers by <see cref="SpecDriver"/>, a driver written from the
/// VT-d specification only. Every expectation here is the spec's, not the model's.
/// </summary>
public sealed class SpecDriverBootTests
{
    private const ulong Page = 0x1000;
    private const ulong Huge = 0x20_0000;

    private static void AssertHit(DmaOutcome r, ulong hpa, ulong pageSize, DmaProtection permissions)
    {
        Assert.True(r.IsSuccess, $"expected a translation to 0x{hpa:x}, got fault 0x{r.Reason:x2}");
        Assert.Equal(hpa, r.Hpa);
        Assert.Equal(pageSize, r.PageSize);
        Assert.Equal(permissions, r.Permissions);
    }

    private static void AssertFault(DmaOutcome r, int reason)
    {
        Assert.False(r.IsSuccess, $"expected fault 0x{reason:x2}, got a translation to 0x{r.Hpa:x}");
        Assert.Equal($"0x{reason:x2}", $"0x{r.Reason:x2}");
    }

    /// <summary>The fault handler's view (from FSTS.FRI, as Linux reads it): exactly one pending record.</summary>
    private static FaultRecord SingleFault(SpecDriver d)
    {
        uint fsts = d.FaultStatus;
        int fri = (int)((fsts >> VtdRegs.FriShift) & 0xFF);
        string records = string.Join(", ", Enumerable.Range(0, d.Cap.FaultRecordCount)
            .Select(d.ReadFaultRecord).Where(r => r.F).Select(r => $"[{r.Index}] FR=0x{r.Reason:x2} SID=0x{r.SourceId:x4}"));
        var faults = d.DrainFaults();
        Assert.True(faults.Count == 1,
            $"expected one pending fault from FSTS.FRI; FSTS=0x{fsts:x8} (PPF={(fsts >> 1) & 1}, FRI={fri}), records with F set: {records}; the handler found {faults.Count}");
        return faults[0];
    }

    // 1 ---------------------------------------------------------------------------------------

    [Fact]
    public void Legacy_BootMapTranslateUnmap_FaultIsRecordedInFrcd()
    {
        using var rig = SpecRig.Legacy();
        var d = rig.Driver;
        Assert.Equal(3, d.Levels);                       // SAGAW = 0b00010: 39-bit, 3-level only
        Assert.False(d.Cap.Supports2MiB);                // SLLPS = 0
        Assert.Equal(0x200UL, d.Cap.FaultRecordOffset);
        Assert.Equal(1, d.Cap.FaultRecordCount);
        Assert.Equal(0x100UL, d.Cap.IotlbRegisterOffset);

        d.Boot(scalable: false);
        uint gsts = d.Read32(VtdRegs.Gsts);
        Assert.Equal(VtdRegs.Te | VtdRegs.Srtp | VtdRegs.Qie, gsts & (VtdRegs.Te | VtdRegs.Srtp | VtdRegs.Qie));
        Assert.Equal(d.RootTable, d.Read64(VtdRegs.Rtaddr) & ~0xFFFUL);
        Assert.Equal(0UL, (d.Read64(VtdRegs.Rtaddr) >> 10) & 3);

        const ushort did = 1;
        ushort rid = SpecDriver.SourceId(0, 3, 0);
        var table = d.NewSecondLevelTable();
        d.AttachLegacy(0, 0x18, did, table);
        ulong page1 = rig.Memory.Frames.Allocate();
        table.Map(0x1000_0000, page1, Page, DmaProtection.ReadWrite);

        AssertHit(rig.Dma(rid, null, 0x1000_0123, DmaAccess.Read), page1 + 0x123, Page, DmaProtection.ReadWrite);
        AssertHit(rig.Dma(rid, null, 0x1000_0ff8, DmaAccess.Write), page1 + 0xff8, Page, DmaProtection.ReadWrite);
        Assert.Equal(0, rig.FaultEvents.Count);

        // An IOVA not mapped yet faults (read of a not-present entry: 0x06) ...
        AssertFault(rig.Dma(rid, null, 0x1000_2000, DmaAccess.Read), VtdFault.NoRead);
        var miss = SingleFault(d);
        Assert.Equal(VtdFault.NoRead, miss.Reason);
        Assert.Equal(1, rig.FaultEvents.Count);

        // ... and with CAP.CM = 0 the not-present entry is not cached: mapping it needs no invalidation.
        ulong page2 = rig.Memory.Frames.Allocate();
        table.Map(0x1000_2000, page2, Page, DmaProtection.Read);
        AssertHit(rig.Dma(rid, null, 0x1000_2008, DmaAccess.Read), page2 + 8, Page, DmaProtection.Read);

        // Writing a read-only page: 0x05, recorded as a write (T1 = 0).
        AssertFault(rig.Dma(rid, null, 0x1000_2010, DmaAccess.Write), VtdFault.NoWrite);
        var ro = SingleFault(d);
        Assert.Equal(VtdFault.NoWrite, ro.Reason);
        Assert.True(ro.IsWrite);
        Assert.Equal(rid, ro.SourceId);
        Assert.Equal(0x1000_2000UL, ro.FaultInfo);
        Assert.Equal(2, rig.FaultEvents.Count);

        // Unmap page 1: clear the leaf, page-selective IOTLB invalidation (G = page, AM = 0) and a wait.
        table.Unmap(0x1000_0000, Page);
        d.FlushIotlbPage(did, 0x1000_0000, am: 0);
        AssertFault(rig.Dma(rid, null, 0x1000_0040, DmaAccess.Read), VtdFault.NoRead);
        Assert.Equal(3, rig.FaultEvents.Count);

        uint fsts = d.FaultStatus;
        Assert.Equal(VtdRegs.Ppf, fsts & (VtdRegs.Ppf | VtdRegs.Pfo));
        int fri = (int)((fsts >> VtdRegs.FriShift) & 0xFF);
        Assert.InRange(fri, 0, d.Cap.FaultRecordCount - 1);
        var record = d.ReadFaultRecord(fri);
        Assert.True(record.F);
        Assert.Equal(rid, record.SourceId);
        Assert.Equal(VtdFault.NoRead, record.Reason);
        Assert.Equal(0x1000_0000UL, record.FaultInfo);
        Assert.True(record.IsRead);
        Assert.False(record.PasidPresent);
        Assert.Equal(0, record.AddressType);         // untranslated request
        // The top dword read on its own (as Linux reads F, T and FR) agrees with the 64-bit read.
        Assert.Equal((uint)(record.High >> 32), d.Read32(d.FaultRecordRegister(fri) + 12));

        d.ClearFaultRecord(fri);                        // write 1 to F
        Assert.False(d.ReadFaultRecord(fri).F);
        Assert.Equal(0u, d.FaultStatus & VtdRegs.Ppf);

        // Page 2 is untouched by the page-selective invalidation of page 1.
        AssertHit(rig.Dma(rid, null, 0x1000_2000, DmaAccess.Read), page2, Page, DmaProtection.Read);
    }

    // 2 ---------------------------------------------------------------------------------------

    [Fact]
    public void Scalable_TwoPasidsOnOneDevice_TeardownAndPageUnmap()
    {
        using var rig = SpecRig.Scalable();
        var d = rig.Driver;
        Assert.True(d.Cap.ScalableMode);
        Assert.True(d.Cap.RidPasid);
        Assert.Equal(4, d.Levels);
        Assert.True(d.Cap.Supports2MiB);
        Assert.Equal(0x400UL, d.Cap.FaultRecordOffset);
        Assert.Equal(8, d.Cap.FaultRecordCount);
        Assert.Equal(0x500UL, d.Cap.IotlbRegisterOffset);
        Assert.Equal(20, d.Cap.PasidBits);

        d.Boot(scalable: true);
        Assert.Equal(1UL, (d.Read64(VtdRegs.Rtaddr) >> 10) & 3);       // TTM = 01
        Assert.Equal(VtdRegs.IqaDw256, d.Read64(VtdRegs.Iqa) & VtdRegs.IqaDw256);

        const int bus = 0, devfn = 0x10;
        ushort rid = SpecDriver.SourceId(0, 2, 0);
        const ushort did0 = 1, did5 = 2;
        var t0 = d.NewSecondLevelTable();
        var t5 = d.NewSecondLevelTable();
        d.AttachScalable(bus, devfn, pasidEnable: true, ridPasid: 0);
        d.SetPasidSecondLevel(bus, devfn, 0, did0, t0);
        d.SetPasidSecondLevel(bus, devfn, 5, did5, t5);

        const ulong iova = 0x1000_0000;
        ulong pageA = rig.Memory.Frames.Allocate();
        ulong pageB = rig.Memory.Frames.Allocate();
        t0.Map(iova, pageA, Page, DmaProtection.ReadWrite);
        t5.Map(iova, pageB, Page, DmaProtection.Read);

        // Without PASID the request uses RID_PASID (0); with PASID 5 it uses PASID 5's entry.
        AssertHit(rig.Dma(rid, null, iova + 0x10, DmaAccess.Read), pageA + 0x10, Page, DmaProtection.ReadWrite);
        AssertHit(rig.Dma(rid, 5, iova + 0x10, DmaAccess.Read), pageB + 0x10, Page, DmaProtection.Read);

        // A 2 MiB leaf (SLLPS bit 0) under RID_PASID.
        ulong run = rig.Memory.Frames.AllocateContiguous(1024);
        ulong big = (run + Huge - 1) & ~(Huge - 1);
        t0.Map(0x4000_0000, big, Huge, DmaProtection.Read);
        AssertHit(rig.Dma(rid, null, 0x4012_3456, DmaAccess.Read), big + 0x12_3456, Huge, DmaProtection.Read);

        // Tear PASID 5 down: P = 0, PASID-cache (PASID-selective) + P_IOTLB (PASID-selective) + wait.
        d.TearDownPasid(bus, devfn, 5, did5);
        AssertFault(rig.Dma(rid, 5, iova, DmaAccess.Read), VtdFault.SmPasidEntryNotPresent);
        var gone = SingleFault(d);
        Assert.Equal(VtdFault.SmPasidEntryNotPresent, gone.Reason);
        Assert.Equal(rid, gone.SourceId);
        Assert.True(gone.PasidPresent);
        Assert.Equal(5u, gone.PasidValue);
        Assert.Equal(iova, gone.FaultInfo);
        Assert.True(gone.IsRead);

        // RID_PASID's translations are untouched.
        AssertHit(rig.Dma(rid, null, iova, DmaAccess.Read), pageA, Page, DmaProtection.ReadWrite);

        // Unmap a page of RID_PASID: leaf cleared, P_IOTLB page-selective-within-PASID (PASID 0, AM 0) + wait.
        t0.Unmap(iova, Page);
        d.SubmitAndWait(InvDescriptor.PasidIotlb(InvDescriptor.PasidIotlbPage, did0, 0, iova, am: 0));
        AssertFault(rig.Dma(rid, null, iova, DmaAccess.Read), VtdFault.SmSlNotPresent);
        var unmapped = SingleFault(d);
        Assert.Equal(VtdFault.SmSlNotPresent, unmapped.Reason);
        Assert.False(unmapped.PasidPresent);
        Assert.Equal(iova, unmapped.FaultInfo);

        // The 2 MiB mapping still translates.
        AssertHit(rig.Dma(rid, null, 0x4000_0000, DmaAccess.Read), big, Huge, DmaProtection.Read);
    }

    // 3 ---------------------------------------------------------------------------------------

    [Fact]
    public void Legacy_ForgottenInvalidation_OldTranslationPersistsUntilInvalidated()
    {
        using var rig = SpecRig.Legacy();
        var d = rig.Driver;
        d.Boot(scalable: false);
        const ushort did = 7;
        ushort rid = SpecDriver.SourceId(0, 4, 0);
        var table = d.NewSecondLevelTable();
        d.AttachLegacy(0, 0x20, did, table);
        const ulong iova = 0x2_0000_0000;
        ulong oldPage = rig.Memory.Frames.Allocate();
        ulong newPage = rig.Memory.Frames.Allocate();
        table.Map(iova, oldPage, Page, DmaProtection.ReadWrite);
        AssertHit(rig.Dma(rid, null, iova, DmaAccess.Read), oldPage, Page, DmaProtection.ReadWrite);

        // Repoint the leaf and forget the invalidation: the IOTLB still holds the old translation.
        rig.Memory.WriteUInt64(table.LeafSlot(iova, Page), SecondLevelTable.LeafEntry(newPage, Page, DmaProtection.ReadWrite));
        AssertHit(rig.Dma(rid, null, iova + 8, DmaAccess.Read), oldPage + 8, Page, DmaProtection.ReadWrite);

        d.FlushIotlbPage(did, iova);
        AssertHit(rig.Dma(rid, null, iova + 8, DmaAccess.Read), newPage + 8, Page, DmaProtection.ReadWrite);

        // Unmap without invalidating: still translates; invalidate: faults.
        table.Unmap(iova, Page);
        AssertHit(rig.Dma(rid, null, iova, DmaAccess.Write), newPage, Page, DmaProtection.ReadWrite);
        d.FlushIotlbDomain(did);
        AssertFault(rig.Dma(rid, null, iova, DmaAccess.Write), VtdFault.NoWrite);
    }

    [Fact]
    public void Scalable_ForgottenInvalidation_OldTranslationPersistsUntilInvalidated()
    {
        using var rig = SpecRig.Scalable();
        var d = rig.Driver;
        d.Boot(scalable: true);
        const ushort did = 9;
        ushort rid = SpecDriver.SourceId(1, 0, 0);
        var table = d.NewSecondLevelTable();
        d.AttachScalable(1, 0, pasidEnable: false);
        d.SetPasidSecondLevel(1, 0, 0, did, table);
        const ulong iova = 0x7_0000_0000;
        ulong p1 = rig.Memory.Frames.Allocate();
        ulong p2 = rig.Memory.Frames.Allocate();
        ulong p3 = rig.Memory.Frames.Allocate();
        table.Map(iova, p1, Page, DmaProtection.ReadWrite);
        AssertHit(rig.Dma(rid, null, iova, DmaAccess.Read), p1, Page, DmaProtection.ReadWrite);

        ulong slot = table.LeafSlot(iova, Page);
        rig.Memory.WriteUInt64(slot, SecondLevelTable.LeafEntry(p2, Page, DmaProtection.ReadWrite));
        AssertHit(rig.Dma(rid, null, iova, DmaAccess.Read), p1, Page, DmaProtection.ReadWrite);

        // Second-level-only mappings of a domain: IOTLB invalidation (type 2) by DID, page-selective.
        d.FlushIotlbPage(did, iova);
        AssertHit(rig.Dma(rid, null, iova, DmaAccess.Read), p2, Page, DmaProtection.ReadWrite);

        // Once more, then the PASID-based IOTLB invalidation for the RID_PASID (page-selective within PASID 0).
        rig.Memory.WriteUInt64(slot, SecondLevelTable.LeafEntry(p3, Page, DmaProtection.ReadWrite));
        AssertHit(rig.Dma(rid, null, iova, DmaAccess.Read), p2, Page, DmaProtection.ReadWrite);
        d.SubmitAndWait(InvDescriptor.PasidIotlb(InvDescriptor.PasidIotlbPage, did, 0, iova));
        AssertHit(rig.Dma(rid, null, iova, DmaAccess.Read), p3, Page, DmaProtection.ReadWrite);
    }

    // 4 ---------------------------------------------------------------------------------------

    [Fact]
    public void Legacy_BeforeTe_DmaPassesThrough_AfterTe_UnprogrammedDeviceFaults()
    {
        using var rig = SpecRig.Legacy();
        var d = rig.Driver;
        ushort rid = SpecDriver.SourceId(0, 3, 0);

        // At reset: translation disabled, no root table.
        var r = rig.Dma(rid, null, 0x1234_5678, DmaAccess.Write);
        Assert.True(r.IsSuccess);
        Assert.Equal(0x1234_5678UL, r.Hpa);

        // Root table set, queue on, caches flushed, still TE = 0: still untranslated.
        d.Boot(scalable: false, enableTranslation: false);
        Assert.Equal(0u, d.Read32(VtdRegs.Gsts) & VtdRegs.Te);
        r = rig.Dma(rid, null, 0x1234_5678, DmaAccess.Read);
        Assert.True(r.IsSuccess);
        Assert.Equal(0x1234_5678UL, r.Hpa);
        Assert.Equal(0, rig.FaultEvents.Count);

        d.GlobalCommand(VtdRegs.Te, enable: true);
        Assert.NotEqual(0u, d.Read32(VtdRegs.Gsts) & VtdRegs.Te);
        Assert.NotEqual(0u, d.Read32(VtdRegs.Gsts) & VtdRegs.Qie);    // enabling TE kept QIE (GCMD written from GSTS)

        // Bus 0 has no root entry: 0x01.
        AssertFault(rig.Dma(rid, null, 0x1234_5678, DmaAccess.Read), VtdFault.RootNotPresent);
        var noRoot = SingleFault(d);
        Assert.Equal(VtdFault.RootNotPresent, noRoot.Reason);
        Assert.Equal(rid, noRoot.SourceId);
        Assert.Equal(0x1234_5000UL, noRoot.FaultInfo);

        // Another device on bus 0 makes the root entry present; ours has no context entry: 0x02.
        var table = d.NewSecondLevelTable();
        d.AttachLegacy(0, 0x08, 3, table);
        AssertFault(rig.Dma(rid, null, 0x1234_5678, DmaAccess.Read), VtdFault.ContextNotPresent);
        Assert.Equal(VtdFault.ContextNotPresent, SingleFault(d).Reason);

        // CM = 0: not-present context entries are not cached, so attaching needs no invalidation.
        ulong page = rig.Memory.Frames.Allocate();
        table.Map(0x1234_5000, page, Page, DmaProtection.Read);
        d.AttachLegacy(0, 0x18, 3, table);
        AssertHit(rig.Dma(rid, null, 0x1234_5678, DmaAccess.Read), page + 0x678, Page, DmaProtection.Read);

        // TE off again (keeping QIE): DMA passes through once more.
        d.GlobalCommand(VtdRegs.Te, enable: false);
        Assert.NotEqual(0u, d.Read32(VtdRegs.Gsts) & VtdRegs.Qie);
        r = rig.Dma(rid, null, 0x1234_5678, DmaAccess.Read);
        Assert.True(r.IsSuccess);
        Assert.Equal(0x1234_5678UL, r.Hpa);
    }

    [Fact]
    public void Scalable_BeforeTe_DmaPassesThrough_AfterTe_UnprogrammedDeviceFaults()
    {
        using var rig = SpecRig.Scalable();
        var d = rig.Driver;
        ushort rid = SpecDriver.SourceId(0, 2, 0);
        Assert.Equal(0x9000UL, rig.Dma(rid, null, 0x9000, DmaAccess.Read).Hpa);

        d.Boot(scalable: true, enableTranslation: false);
        var r = rig.Dma(rid, 3, 0x9000, DmaAccess.Read);
        Assert.True(r.IsSuccess);
        Assert.Equal(0x9000UL, r.Hpa);

        d.GlobalCommand(VtdRegs.Te, enable: true);
        // No root entry (LP clear) for bus 0.
        AssertFault(rig.Dma(rid, null, 0x9000, DmaAccess.Read), VtdFault.SmRootNotPresent);
        var f = SingleFault(d);
        Assert.Equal(VtdFault.SmRootNotPresent, f.Reason);
        Assert.Equal(rid, f.SourceId);

        // Another device (devfn 0x08) makes the lower half present: ours (0x10) has no context entry.
        d.AttachScalable(0, 0x08, pasidEnable: false);
        AssertFault(rig.Dma(rid, null, 0x9000, DmaAccess.Read), VtdFault.SmContextNotPresent);
        Assert.Equal(VtdFault.SmContextNotPresent, SingleFault(d).Reason);

        // devfn 0x90 is in the upper half, whose UP is still clear.
        AssertFault(rig.Dma(SpecDriver.SourceId(0, 0x12, 0), null, 0x9000, DmaAccess.Read), VtdFault.SmRootNotPresent);
        Assert.Equal(VtdFault.SmRootNotPresent, SingleFault(d).Reason);

        // Our device attached with an empty PASID directory: RID_PASID's directory entry is not present.
        d.AttachScalable(0, 0x10, pasidEnable: true);
        AssertFault(rig.Dma(rid, null, 0x9000, DmaAccess.Read), VtdFault.SmPasidDirNotPresent);
        Assert.Equal(VtdFault.SmPasidDirNotPresent, SingleFault(d).Reason);
    }

    // 5 ---------------------------------------------------------------------------------------

    public enum Malformation
    {
        UnknownType,
        ReservedBitLow,
        ReservedBitUpperHalf,   // bits 255:128 of a 256-bit legacy-type descriptor
    }

    [Theory]
    [InlineData(false, Malformation.UnknownType, 3)]
    [InlineData(false, Malformation.ReservedBitLow, 4)]
    [InlineData(true, Malformation.UnknownType, 3)]
    [InlineData(true, Malformation.ReservedBitLow, 4)]
    [InlineData(true, Malformation.ReservedBitUpperHalf, 4)]
    public void Queue_MalformedDescriptor_StopsQueueUntilIqeCleared(bool scalable, Malformation kind, int iqei)
    {
        using var rig = scalable ? SpecRig.Scalable() : SpecRig.Legacy();
        var d = rig.Driver;
        d.Boot(scalable);
        d.FlushIotlbGlobal();

        int bad = d.TailIndex;
        InvDescriptor malformed = kind switch
        {
            Malformation.UnknownType => new InvDescriptor(0xF, 0),
            Malformation.ReservedBitLow => InvDescriptor.Iotlb(VtdRegs.GranGlobal) with { Qw0 = InvDescriptor.Iotlb(VtdRegs.GranGlobal).Qw0 | (1UL << 40) },
            _ => InvDescriptor.Iotlb(VtdRegs.GranGlobal) with { Qw2 = 1 },
        };
        var (address, data) = d.NextStatus();
        d.Submit(malformed, InvDescriptor.Wait(address, data));
        ulong tail = d.Read64(VtdRegs.Iqt);
        Assert.Equal((ulong)((bad + 2) * d.DescriptorBytes), tail);

        SpecDriver.Poll(() => (d.FaultStatus & VtdRegs.Iqe) != 0, "FSTS.IQE");
        Assert.Equal((ulong)(bad * d.DescriptorBytes), d.Read64(VtdRegs.Iqh) & 0x7FFF0);
        Assert.Equal(iqei, (int)(d.Read64(VtdRegs.Iqercd) & 0xF));
        Thread.Sleep(50);
        Assert.False(d.StatusWritten(address, data), "the wait after the bad descriptor must not run");
        Assert.Equal((ulong)(bad * d.DescriptorBytes), d.Read64(VtdRegs.Iqh) & 0x7FFF0);

        // Fix the descriptor in place, clear IQE (write 1): fetching resumes from IQH.
        d.WriteDescriptor(bad, InvDescriptor.Iotlb(VtdRegs.GranGlobal));
        d.Write32(VtdRegs.Fsts, VtdRegs.Iqe);
        SpecDriver.Poll(() => d.StatusWritten(address, data), "the wait status after IQE was cleared");
        Assert.Equal(0u, d.FaultStatus & VtdRegs.Iqe);
        Assert.Equal(tail, d.Read64(VtdRegs.Iqh) & 0x7FFF0);

        // The queue keeps working.
        d.FlushContextGlobal();
        d.FlushIotlbGlobal();
        Assert.Equal(d.Read64(VtdRegs.Iqt), d.Read64(VtdRegs.Iqh) & 0x7FFF0);
    }

    // 6 ---------------------------------------------------------------------------------------

    [Fact]
    public void Legacy_RegisterBasedInvalidation_CcmdAndIotlbReg()
    {
        using var rig = SpecRig.Legacy();
        var d = rig.Driver;
        d.Boot(scalable: false, queuedInvalidation: false);   // boot already did global CCMD + IOTLB_REG
        Assert.Equal(0u, d.Read32(VtdRegs.Gsts) & VtdRegs.Qie);
        Assert.NotEqual(0u, d.Read32(VtdRegs.Gsts) & VtdRegs.Te);

        Assert.Equal(VtdRegs.GranGlobal, d.RegisterContextInvalidate(VtdRegs.GranGlobal));
        Assert.Equal(0UL, d.Read64(VtdRegs.Ccmd) & VtdRegs.Icc);
        Assert.Equal(VtdRegs.GranGlobal, d.RegisterIotlbInvalidate(VtdRegs.GranGlobal));
        Assert.Equal(0UL, d.Read64(d.IotlbRegister) & VtdRegs.Ivt);

        const ushort did = 4;
        ushort rid = SpecDriver.SourceId(2, 1, 0);
        var table = d.NewSecondLevelTable();
        d.AttachLegacy(2, 0x08, did, table);
        const ulong iova = 0x40_0000;
        ulong p1 = rig.Memory.Frames.Allocate();
        ulong p2 = rig.Memory.Frames.Allocate();
        table.Map(iova, p1, Page, DmaProtection.ReadWrite);
        AssertHit(rig.Dma(rid, null, iova, DmaAccess.Read), p1, Page, DmaProtection.ReadWrite);

        // Page-selective through IVA_REG + IOTLB_REG (actual granularity: page, or coarser).
        ulong slot = table.LeafSlot(iova, Page);
        rig.Memory.WriteUInt64(slot, SecondLevelTable.LeafEntry(p2, Page, DmaProtection.ReadWrite));
        AssertHit(rig.Dma(rid, null, iova, DmaAccess.Read), p1, Page, DmaProtection.ReadWrite);
        Assert.InRange(d.RegisterIotlbInvalidate(VtdRegs.GranDeviceOrPage, did, iova, am: 0), 1, 3);
        AssertHit(rig.Dma(rid, null, iova, DmaAccess.Read), p2, Page, DmaProtection.ReadWrite);

        // Domain-selective.
        rig.Memory.WriteUInt64(slot, SecondLevelTable.LeafEntry(p1, Page, DmaProtection.Read));
        AssertHit(rig.Dma(rid, null, iova, DmaAccess.Read), p2, Page, DmaProtection.ReadWrite);
        Assert.InRange(d.RegisterIotlbInvalidate(VtdRegs.GranDomain, did), 1, 2);
        AssertHit(rig.Dma(rid, null, iova, DmaAccess.Read), p1, Page, DmaProtection.Read);

        // Move the device to another domain: device-selective CCMD for the old DID, then the old DID's IOTLB.
        var other = d.NewSecondLevelTable();
        ulong p3 = rig.Memory.Frames.Allocate();
        other.Map(iova, p3, Page, DmaProtection.Write);
        d.AttachLegacy(2, 0x08, 5, other);
        Assert.InRange(d.RegisterContextInvalidate(VtdRegs.GranDeviceOrPage, did, rid), 1, 3);
        Assert.InRange(d.RegisterIotlbInvalidate(VtdRegs.GranDomain, did), 1, 2);
        AssertHit(rig.Dma(rid, null, iova, DmaAccess.Write), p3, Page, DmaProtection.Write);
    }

    // 7 ---------------------------------------------------------------------------------------

    [Fact]
    public void Legacy_FaultOverflow_PfoSetAndLaterFaultsNotRecordedUntilCleared()
    {
        using var rig = SpecRig.Legacy();
        var d = rig.Driver;
        d.Boot(scalable: false);
        Assert.Equal(1, d.Cap.FaultRecordCount);
        // Every device on bus 5 faults with 0x01 (no root entry); distinct source ids, so no fault compression.
        ushort Rid(int n) => SpecDriver.SourceId(5, n, 0);

        AssertFault(rig.Dma(Rid(1), null, 0x1000, DmaAccess.Read), VtdFault.RootNotPresent);
        Assert.Equal(VtdRegs.Ppf, d.FaultStatus & (VtdRegs.Ppf | VtdRegs.Pfo));
        Assert.Equal(0, d.FaultRecordIndex);
        Assert.Equal(Rid(1), d.ReadFaultRecord(0).SourceId);

        // The only record is full: the next faults set PFO and are not recorded.
        AssertFault(rig.Dma(Rid(2), null, 0x2000, DmaAccess.Read), VtdFault.RootNotPresent);
        AssertFault(rig.Dma(Rid(3), null, 0x3000, DmaAccess.Write), VtdFault.RootNotPresent);
        Assert.Equal(VtdRegs.Ppf | VtdRegs.Pfo, d.FaultStatus & (VtdRegs.Ppf | VtdRegs.Pfo));
        var kept = d.ReadFaultRecord(0);
        Assert.Equal(Rid(1), kept.SourceId);
        Assert.Equal(0x1000UL, kept.FaultInfo);

        // F cleared but PFO still set: faults are still not recorded.
        d.ClearFaultRecord(0);
        Assert.Equal(VtdRegs.Pfo, d.FaultStatus & (VtdRegs.Ppf | VtdRegs.Pfo));
        AssertFault(rig.Dma(Rid(4), null, 0x4000, DmaAccess.Read), VtdFault.RootNotPresent);
        Assert.False(d.ReadFaultRecord(0).F);
        Assert.Equal(0u, d.FaultStatus & VtdRegs.Ppf);

        // PFO cleared (write 1): recording resumes.
        d.Write32(VtdRegs.Fsts, VtdRegs.Pfo);
        Assert.Equal(0u, d.FaultStatus & (VtdRegs.Ppf | VtdRegs.Pfo));
        AssertFault(rig.Dma(Rid(6), null, 0x6000, DmaAccess.Read), VtdFault.RootNotPresent);
        var next = d.ReadFaultRecord(0);
        Assert.True(next.F);
        Assert.Equal(Rid(6), next.SourceId);
        Assert.Equal(0x6000UL, next.FaultInfo);
        Assert.Equal(VtdRegs.Ppf, d.FaultStatus & (VtdRegs.Ppf | VtdRegs.Pfo));
    }

    [Fact]
    public void Scalable_FaultOverflow_EightRecordsThenPfo_IndexKeepsAdvancing()
    {
        using var rig = SpecRig.Scalable();
        var d = rig.Driver;
        d.Boot(scalable: true);
        int n = d.Cap.FaultRecordCount;
        Assert.Equal(8, n);
        ushort Rid(int i) => SpecDriver.SourceId(7, i, 0);

        for (int i = 0; i < n; i++)
            AssertFault(rig.Dma(Rid(i), null, (ulong)(i + 1) << 12, DmaAccess.Read), VtdFault.SmRootNotPresent);
        Assert.Equal(VtdRegs.Ppf, d.FaultStatus & (VtdRegs.Ppf | VtdRegs.Pfo));
        Assert.Equal(0, d.FaultRecordIndex);
        for (int i = 0; i < n; i++)
        {
            var rec = d.ReadFaultRecord(i);
            Assert.True(rec.F);
            Assert.Equal(Rid(i), rec.SourceId);
            Assert.Equal((ulong)(i + 1) << 12, rec.FaultInfo);
        }

        // The ninth fault finds record 0 (the index wrapped) still full: PFO, not recorded.
        AssertFault(rig.Dma(Rid(20), null, 0x99000, DmaAccess.Read), VtdFault.SmRootNotPresent);
        Assert.Equal(VtdRegs.Ppf | VtdRegs.Pfo, d.FaultStatus & (VtdRegs.Ppf | VtdRegs.Pfo));
        Assert.Equal(Rid(0), d.ReadFaultRecord(0).SourceId);

        var drained = d.DrainFaults();
        Assert.Equal(Enumerable.Range(0, n).Select(Rid).ToArray(), drained.Select(f => f.SourceId).ToArray());
        Assert.Equal(0u, d.FaultStatus & (VtdRegs.Ppf | VtdRegs.Pfo));

        // Recording resumes at the internal index (0 after the wrap), then 1: FRI follows it.
        AssertFault(rig.Dma(Rid(21), null, 0x1000, DmaAccess.Read), VtdFault.SmRootNotPresent);
        Assert.Equal(0, d.FaultRecordIndex);
        Assert.Equal(Rid(21), d.ReadFaultRecord(0).SourceId);
        d.DrainFaults();
        AssertFault(rig.Dma(Rid(22), null, 0x1000, DmaAccess.Read), VtdFault.SmRootNotPresent);
        Assert.Equal(1, d.FaultRecordIndex);
        Assert.Equal(Rid(22), d.ReadFaultRecord(1).SourceId);
    }
}
