namespace Siov.Fast.Tests.Hardware;

/// <summary>
/// Further spec rules checked through <see cref="SpecDriver"/>: reset values, fault reasons of the
/// legacy and scalable walks, fault-event interrupt rules, invalidation-wait details.
/// </summary>
public sealed class SpecDriverSpecTests
{
    private const ulong Page = 0x1000;
    private const ulong Huge = 0x20_0000;

    private static void AssertFault(DmaOutcome r, int reason)
    {
        Assert.False(r.IsSuccess, $"expected fault 0x{reason:x2}, got a translation to 0x{r.Hpa:x}");
        Assert.Equal($"0x{reason:x2}", $"0x{r.Reason:x2}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reset_RegistersHoldTheirResetValues(bool scalable)
    {
        using var rig = scalable ? SpecRig.Scalable() : SpecRig.Legacy();
        var d = rig.Driver;
        Assert.Equal(rig.Capability, d.Read64(VtdRegs.Cap));
        Assert.Equal(rig.ExtendedCapability, d.Read64(VtdRegs.Ecap));
        Assert.Equal((uint)rig.Capability, d.Read32(VtdRegs.Cap));
        Assert.Equal((uint)(rig.Capability >> 32), d.Read32(VtdRegs.Cap + 4));
        Assert.Equal((uint)(rig.ExtendedCapability >> 32), d.Read32(VtdRegs.Ecap + 4));
        Assert.InRange((d.Read32(VtdRegs.Ver) >> 4) & 0xF, 1u, 15u);     // major version

        Assert.Equal(0u, d.Read32(VtdRegs.Gsts));
        Assert.Equal(0UL, d.Read64(VtdRegs.Rtaddr));
        Assert.Equal(0u, d.Read32(VtdRegs.Fsts));
        Assert.Equal(VtdRegs.InterruptMask, d.Read32(VtdRegs.Fectl));   // IM = 1 at reset
        Assert.Equal(VtdRegs.InterruptMask, d.Read32(VtdRegs.Iectl));
        Assert.Equal(0UL, d.Read64(VtdRegs.Iqh));
        Assert.Equal(0UL, d.Read64(VtdRegs.Iqt));
        Assert.Equal(0UL, d.Read64(VtdRegs.Iqa));
        Assert.Equal(0u, d.Read32(VtdRegs.Ics));
        for (int i = 0; i < d.Cap.FaultRecordCount; i++)
            Assert.False(d.ReadFaultRecord(i).F);
    }

    [Fact]
    public void Gcmd_OneShotSrtpAgain_KeepsTeAndQie()
    {
        using var rig = SpecRig.Legacy();
        var d = rig.Driver;
        d.Boot(scalable: false);
        d.SetRootTablePointer();
        uint gsts = d.Read32(VtdRegs.Gsts);
        Assert.Equal(VtdRegs.Te | VtdRegs.Srtp | VtdRegs.Qie, gsts & (VtdRegs.Te | VtdRegs.Srtp | VtdRegs.Qie));
    }

    [Fact]
    public void Registers_64BitRegistersTakeTwoDwordWrites()
    {
        using var rig = SpecRig.Legacy();
        var d = rig.Driver;
        ulong root = rig.Memory.Frames.Allocate();
        d.Write32(VtdRegs.Rtaddr, (uint)root);
        d.Write32(VtdRegs.Rtaddr + 4, (uint)(root >> 32));
        Assert.Equal(root, d.Read64(VtdRegs.Rtaddr));
        Assert.Equal((uint)root, d.Read32(VtdRegs.Rtaddr));
        ulong queue = rig.Memory.Frames.Allocate();
        d.Write32(VtdRegs.Iqa, (uint)queue);
        d.Write32(VtdRegs.Iqa + 4, (uint)(queue >> 32));
        Assert.Equal(queue, d.Read64(VtdRegs.Iqa));
    }

    // ---- fault events (VT-d "Fault Event Interrupts") -----------------------------------------

    [Fact]
    public void FaultEvent_Masked_IsPendingThenDeliveredOnUnmask()
    {
        using var rig = SpecRig.Legacy();
        var d = rig.Driver;
        d.Boot(scalable: false);
        d.Write32(VtdRegs.Fectl, VtdRegs.InterruptMask);
        AssertFault(rig.Dma(SpecDriver.SourceId(9, 0, 0), null, 0x1000, DmaAccess.Read), VtdFault.RootNotPresent);
        Assert.Equal(0, rig.FaultEvents.Count);
        Assert.Equal(VtdRegs.InterruptMask | VtdRegs.InterruptPending, d.Read32(VtdRegs.Fectl));

        d.Write32(VtdRegs.Fectl, 0);                   // unmask: the pending message goes out, IP clears
        Assert.Equal(1, rig.FaultEvents.Count);
        Assert.Equal(0u, d.Read32(VtdRegs.Fectl) & VtdRegs.InterruptPending);
    }

    [Fact]
    public void FaultEvent_NotRaisedAgainWhileAFaultIsPending()
    {
        using var rig = SpecRig.Scalable();
        var d = rig.Driver;
        d.Boot(scalable: true);
        AssertFault(rig.Dma(SpecDriver.SourceId(9, 0, 0), null, 0x1000, DmaAccess.Read), VtdFault.SmRootNotPresent);
        Assert.Equal(1, rig.FaultEvents.Count);
        // PPF is already set when this one is recorded: "not treated as a new interrupt event".
        AssertFault(rig.Dma(SpecDriver.SourceId(9, 1, 0), null, 0x1000, DmaAccess.Read), VtdFault.SmRootNotPresent);
        Assert.True(d.ReadFaultRecord(1).F);
        Assert.Equal(1, rig.FaultEvents.Count);

        // Serviced: every F cleared, FSTS clean; the next fault is a new event.
        for (int i = 0; i < d.Cap.FaultRecordCount; i++)
            d.ClearFaultRecord(i);
        Assert.Equal(0u, d.FaultStatus);
        AssertFault(rig.Dma(SpecDriver.SourceId(9, 2, 0), null, 0x1000, DmaAccess.Read), VtdFault.SmRootNotPresent);
        Assert.Equal(2, rig.FaultEvents.Count);
    }

    [Fact]
    public void FaultEvent_NotRaisedForAnOverflowWhileAFaultIsPending()
    {
        using var rig = SpecRig.Legacy();                 // one fault record
        var d = rig.Driver;
        d.Boot(scalable: false);
        AssertFault(rig.Dma(SpecDriver.SourceId(5, 1, 0), null, 0x1000, DmaAccess.Read), VtdFault.RootNotPresent);
        Assert.Equal(1, rig.FaultEvents.Count);
        AssertFault(rig.Dma(SpecDriver.SourceId(5, 2, 0), null, 0x1000, DmaAccess.Read), VtdFault.RootNotPresent);
        Assert.Equal(VtdRegs.Ppf | VtdRegs.Pfo, d.FaultStatus & (VtdRegs.Ppf | VtdRegs.Pfo));
        Assert.Equal(1, rig.FaultEvents.Count);
    }

    [Fact]
    public void Fsts_Fri_IsTheFirstPendingRecord_AndStaysWhilePpfIsSet()
    {
        using var rig = SpecRig.Scalable();
        var d = rig.Driver;
        d.Boot(scalable: true);
        ushort Rid(int n) => SpecDriver.SourceId(9, n, 0);

        // PPF 0 -> 1: the record written (index 0) goes into FRI; the internal index moves on to 1.
        AssertFault(rig.Dma(Rid(0), null, 0x1000, DmaAccess.Read), VtdFault.SmRootNotPresent);
        Assert.True(d.ReadFaultRecord(0).F);
        Assert.Equal(0, d.FaultRecordIndex);
        // PPF already set: record 1 is written, FRI still names the first pending record.
        AssertFault(rig.Dma(Rid(1), null, 0x1000, DmaAccess.Read), VtdFault.SmRootNotPresent);
        Assert.True(d.ReadFaultRecord(1).F);
        Assert.Equal(0, d.FaultRecordIndex);

        // Serviced (F cleared, PPF 0): the next fault lands at the internal index, 2, and FRI says so.
        d.ClearFaultRecord(0);
        d.ClearFaultRecord(1);
        Assert.Equal(0u, d.FaultStatus & VtdRegs.Ppf);
        AssertFault(rig.Dma(Rid(2), null, 0x1000, DmaAccess.Read), VtdFault.SmRootNotPresent);
        Assert.True(d.ReadFaultRecord(2).F);
        Assert.Equal(2, d.FaultRecordIndex);
    }

    // ---- legacy walk ------------------------------------------------------------------------

    [Fact]
    public void Legacy_WalkFaults_ReservedSuperpageBadAwBeyondAgawNoRead()
    {
        using var rig = SpecRig.Legacy();
        var d = rig.Driver;
        d.Boot(scalable: false);
        var table = d.NewSecondLevelTable();
        d.AttachLegacy(0, 0x08, 1, table);
        ushort rid = SpecDriver.SourceId(0, 1, 0);

        // SLLPS = 0: PS in a PDE is a reserved bit, so a "2 MiB leaf" is a reserved-field fault (0x0C).
        table.Map(0x20_0000, 0x20_0000, Huge, DmaProtection.Read);
        AssertFault(rig.Dma(rid, null, 0x20_1000, DmaAccess.Read), VtdFault.SlEntryReserved);

        // The 39-bit AGAW: an IOVA at 2^39 is beyond it (0x04).
        AssertFault(rig.Dma(rid, null, 1UL << 39, DmaAccess.Read), VtdFault.AddressBeyondAgaw);

        // A write-only page read (0x06).
        ulong page = rig.Memory.Frames.Allocate();
        table.Map(0x5000, page, Page, DmaProtection.Write);
        AssertFault(rig.Dma(rid, null, 0x5000, DmaAccess.Read), VtdFault.NoRead);
        Assert.True(rig.Dma(rid, null, 0x5000, DmaAccess.Write).IsSuccess);

        // AW = 010b (48-bit) is not in SAGAW = 00010b: invalid context entry programming (0x03).
        d.AttachLegacy(0, 0x10, 2, table, addressWidth: 2);
        AssertFault(rig.Dma(SpecDriver.SourceId(0, 2, 0), null, 0x5000, DmaAccess.Write), VtdFault.ContextInvalid);
        d.DrainFaults();
    }

    // ---- scalable walk ----------------------------------------------------------------------

    [Fact]
    public void Scalable_WalkFaults_PasideUpperHalfDirectoryAndPermissions()
    {
        using var rig = SpecRig.Scalable();
        var d = rig.Driver;
        d.Boot(scalable: true);
        const ulong iova = 0x3000_0000;

        // Device B: devfn 0x88 lives in the upper context table (root entry UP/UCTP); PASIDE = 0.
        ushort ridB = SpecDriver.SourceId(0, 0x11, 0);
        var tb = d.NewSecondLevelTable();
        ulong pb = rig.Memory.Frames.Allocate();
        tb.Map(iova, pb, Page, DmaProtection.ReadWrite);
        d.AttachScalable(0, 0x88, pasidEnable: false);
        d.SetPasidSecondLevel(0, 0x88, 0, 3, tb);
        var hit = rig.Dma(ridB, null, iova + 4, DmaAccess.Write);
        Assert.True(hit.IsSuccess);
        Assert.Equal(pb + 4, hit.Hpa);
        // A request with PASID to a context entry whose PASIDE is clear (0x45).
        AssertFault(rig.Dma(ridB, 5, iova, DmaAccess.Read), VtdFault.SmPasidDisabled);

        // Device A: PASIDE = 1, PDTS = 0 (128 directory entries: PASIDs 0-8191).
        ushort ridA = SpecDriver.SourceId(0, 2, 0);
        var ta = d.NewSecondLevelTable();
        d.AttachScalable(0, 0x10, pasidEnable: true);
        d.SetPasidSecondLevel(0, 0x10, 0, 4, ta);
        AssertFault(rig.Dma(ridA, 64, iova, DmaAccess.Read), VtdFault.SmPasidDirNotPresent);   // directory entry 1
        AssertFault(rig.Dma(ridA, 8192, iova, DmaAccess.Read), VtdFault.SmPasidTooLarge);

        ulong ro = rig.Memory.Frames.Allocate();
        ulong wo = rig.Memory.Frames.Allocate();
        ta.Map(iova, ro, Page, DmaProtection.Read);
        ta.Map(iova + Page, wo, Page, DmaProtection.Write);
        AssertFault(rig.Dma(ridA, null, iova + 8, DmaAccess.Write), VtdFault.SmNoWrite);
        AssertFault(rig.Dma(ridA, null, iova + Page, DmaAccess.Read), VtdFault.SmNoRead);
        AssertFault(rig.Dma(ridA, null, iova + (2 * Page), DmaAccess.Read), VtdFault.SmSlNotPresent);
        d.DrainFaults();
    }

    // ---- invalidation wait ------------------------------------------------------------------

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Wait_InterruptFlagSetsIwc_StatusToADwordAddress(bool scalable)
    {
        using var rig = scalable ? SpecRig.Scalable() : SpecRig.Legacy();
        var d = rig.Driver;
        d.Boot(scalable);

        // IF = 1: ICS.IWC is set on completion; write 1 clears it.
        var (address, data) = d.NextStatus();
        d.Submit(InvDescriptor.Wait(address, data, interrupt: true));
        SpecDriver.Poll(() => d.StatusWritten(address, data), "wait status");
        Assert.Equal(VtdRegs.Iwc, d.Read32(VtdRegs.Ics) & VtdRegs.Iwc);
        d.Write32(VtdRegs.Ics, VtdRegs.Iwc);
        Assert.Equal(0u, d.Read32(VtdRegs.Ics) & VtdRegs.Iwc);

        // The status address is dword-aligned: a write to the upper half of a qword leaves the lower half alone.
        ulong qword = d.StatusPage + 0xF00;
        rig.Memory.WriteUInt64(qword, 0x1111_2222_3333_4444);
        d.Submit(InvDescriptor.Wait(qword + 4, 0xABCD_0123));
        SpecDriver.Poll(() => rig.Memory.ReadUInt64(qword) >> 32 == 0xABCD_0123, "dword status write");
        Assert.Equal(0xABCD_0123_3333_4444UL, rig.Memory.ReadUInt64(qword));
    }
}
