using Siov.Fast.Hardware.Vtd;

namespace Siov.Fast.Tests.Hardware;

/// <summary>
/// First-level translation (PGTT 001b, VT-d spec 3.6 and 9.6-9.7) against IA-32e tables and PASID entries written here
/// bit by bit from the spec's layouts (no engine type builds them): 4- and 5-level walks, 4 KiB / 2 MiB / 1 GiB leaves,
/// A and D set by the hardware, user/supervisor, write-protect and execute checks with their fault reasons, the IOTLB
/// keeping user rights, and PASID-based invalidation.
/// </summary>
public sealed class FirstLevelTranslationTests : IDisposable
{
    // First-level entry bits (spec 9.7).
    private const ulong P = 1, RW = 1 << 1, US = 1 << 2, A = 1 << 5, D = 1 << 6, PS = 1 << 7, XD = 1UL << 63;
    private const ulong Table = P | RW | US;
    // PASID entry (spec 9.6): qword 0 PGTT 001b at 8:6 and P; qword 2 SRE 0, ERE 1, FLPM 3:2, WPE 4, NXE 5, SMEP 6.
    private const ulong Sre = 1, Ere = 1 << 1, Flpm5 = 1 << 2, Wpe = 1 << 4, Nxe = 1 << 5, Smep = 1 << 6;
    private const int Bus = 1, Devfn = 0;
    private const uint Pasid = 5;
    private const ushort Did = 7;
    private static readonly ushort Sid = SpecDriver.SourceId(Bus, 0, 0);

    private readonly SpecRig _rig;

    public FirstLevelTranslationTests() : this(SpecRig.Scalable())
    {
    }

    private FirstLevelTranslationTests(SpecRig rig)
    {
        _rig = rig;
        _rig.Driver.Boot(scalable: true);
        _rig.Driver.AttachScalable(Bus, Devfn, pasidEnable: true);
    }

    public void Dispose() => _rig.Dispose();

    private ulong Page() => _rig.Memory.Frames.Allocate();

    private ulong Read(ulong hpa) => _rig.Memory.ReadUInt64(hpa);

    private void Write(ulong hpa, ulong value) => _rig.Memory.WriteUInt64(hpa, value);

    private static ulong Index(ulong iova, int level) => (iova >> (12 + 9 * (level - 1))) & 511;

    /// <summary>Links tables from <paramref name="root"/> down to <paramref name="leafLevel"/> for <paramref name="iova"/>
    /// and writes the leaf there; returns the leaf's address. Each table is linked P | R/W | U/S unless given.</summary>
    private ulong Map(ulong root, int levels, ulong iova, int leafLevel, ulong leaf, ulong tableBits = Table, ulong gpaOffset = 0)
    {
        // With gpaOffset (nesting), table pointers are written as GPAs: HPA + gpaOffset.
        ulong table = root;
        for (int level = levels; level > leafLevel; level--)
        {
            ulong slot = table + Index(iova, level) * 8;
            ulong entry = Read(slot);
            if ((entry & P) == 0)
            {
                entry = (Page() + gpaOffset) | tableBits;
                Write(slot, entry);
            }
            table = (entry & 0x000F_FFFF_FFFF_F000UL) - gpaOffset;
        }
        ulong leafSlot = table + Index(iova, leafLevel) * 8;
        Write(leafSlot, leaf);
        return leafSlot;
    }

    private void SetPasidFirstLevel(ulong root, ulong q2Controls, uint pasid = Pasid)
    {
        ulong entry = _rig.Driver.PasidEntryAddress(Bus, Devfn, pasid);
        for (ulong q = 1; q < 8; q++)
            Write(entry + q * 8, 0);
        Write(entry + 8, Did);
        Write(entry + 16, root | q2Controls);
        Write(entry, (1UL << 6) | 1); // PGTT 001b, P last
    }

    private TranslationResult Dma(ulong iova, DmaAccess access, DmaRequestAttributes attributes = DmaRequestAttributes.None, uint pasid = Pasid) =>
        _rig.Unit.Translate(new DmaRequest(Sid, pasid, iova, access, attributes));

    [Fact]
    public void A_4_level_walk_translates_and_sets_A_then_D()
    {
        ulong root = Page();
        ulong leaf = Map(root, 4, 0x7f12_3456_7000, 1, 0x4000_5000 | P | RW | US);
        SetPasidFirstLevel(root, 0);

        TranslationResult read = Dma(0x7f12_3456_7abc, DmaAccess.Read);
        Assert.True(read.IsSuccess, read.ToString());
        Assert.Equal((0x4000_5abcUL, 4096UL, DmaProtection.Read), (read.Hpa, (ulong)read.PageSize, read.Permissions)); // W once dirty
        Assert.Equal(A, Read(leaf) & (A | D));
        // Every table entry on the way has A.
        ulong table = root;
        for (int level = 4; level > 1; level--)
        {
            ulong entry = Read(table + Index(0x7f12_3456_7000, level) * 8);
            Assert.Equal(A, entry & A);
            table = entry & 0x000F_FFFF_FFFF_F000UL;
        }

        TranslationResult write = Dma(0x7f12_3456_7abc, DmaAccess.Write); // the IOTLB holds read only: a walk sets D
        Assert.Equal((true, DmaProtection.ReadWrite), (write.IsSuccess, write.Permissions));
        Assert.Equal(A | D, Read(leaf) & (A | D));
        Assert.Equal(DmaProtection.ReadWrite, Dma(0x7f12_3456_7000, DmaAccess.Read).Permissions);
    }

    [Fact]
    public void Large_leaves_and_5_level_paging()
    {
        ulong root = Page();
        Map(root, 4, 0x4000_0000, 2, 0x8020_0000 | P | RW | US | PS);    // 2 MiB at 1 GiB
        Map(root, 4, 0x80_0000_0000, 3, 0x1_4000_0000 | P | RW | US | PS); // 1 GiB (CAP_REG.FL1GP)
        SetPasidFirstLevel(root, 0);
        TranslationResult twoMiB = Dma(0x4012_3456, DmaAccess.Read);
        Assert.Equal((0x8032_3456UL, 2UL << 20), (twoMiB.Hpa, (ulong)twoMiB.PageSize));
        TranslationResult oneGiB = Dma(0x80_2345_6789, DmaAccess.Read);
        Assert.Equal((0x1_6345_6789UL, 1UL << 30), (oneGiB.Hpa, (ulong)oneGiB.PageSize));

        ulong root5 = Page();
        const ulong high = 0x00AB_CDEF_1234_5000; // bits 56:48 set: canonical only with 5 levels
        Map(root5, 5, high, 1, 0x7000 | P | RW | US);
        SetPasidFirstLevel(root5, Flpm5, pasid: 6);
        Assert.Equal(0x7678UL, Dma(high | 0x678, DmaAccess.Read, pasid: 6).Hpa);
        SetPasidFirstLevel(root5, 0, pasid: 9); // the same table walked with 4 levels: the address is not canonical
        Assert.Equal(FaultReason.SmNonCanonicalAddress, Dma(high, DmaAccess.Read, pasid: 9).Fault);
    }

    [Fact]
    public void Walk_faults_name_the_first_level_reason()
    {
        // Each case under its own FL-PML4E (a 512 GiB stride), so one damaged entry does not hide the next.
        ulong root = Page();
        SetPasidFirstLevel(root, 0);
        Assert.Equal(FaultReason.SmFirstLevelNotPresent, Dma(0x1000, DmaAccess.Read).Fault);            // 71h
        Assert.Equal(FaultReason.SmNonCanonicalAddress, Dma(0x0000_8000_0000_0000, DmaAccess.Read).Fault); // 80h
        Assert.Equal(FaultReason.SmFirstLevelNotPresent, Dma(0xFFFF_8000_0000_0000, DmaAccess.Read).Fault); // canonical

        Write(root + Index(0x080_0000_0000, 4) * 8, Page() | Table | PS);                                     // PS in an FL-PML4E
        Assert.Equal(FaultReason.SmFirstLevelReservedBits, Dma(0x080_0000_0000, DmaAccess.Read).Fault);   // 72h
        Map(root, 4, 0x100_0000_0000, 1, (1UL << 50) | P | RW | US);                                       // address above HAW
        Assert.Equal(FaultReason.SmFirstLevelReservedBits, Dma(0x100_0000_0000, DmaAccess.Read).Fault);
        Map(root, 4, 0x180_0000_0000, 2, 0x20_1000 | P | RW | US | PS);                                     // 2 MiB leaf, PAT (bit 12)
        Map(root, 4, 0x180_0020_0000, 2, 0x40_2000 | P | RW | US | PS);                                     // bit 13: reserved
        Assert.True(Dma(0x180_0000_0000, DmaAccess.Read).IsSuccess);
        Assert.Equal(FaultReason.SmFirstLevelReservedBits, Dma(0x180_0020_0000, DmaAccess.Read).Fault);
        ulong l3 = root + Index(0x280_0000_0000, 4) * 8;
        Write(l3, (1UL << 40) | Table);                                                                       // below HAW, outside memory
        Assert.Equal(FaultReason.SmFirstLevelAccessError, Dma(0x280_0000_0000, DmaAccess.Read).Fault);    // 70h
    }

    [Fact]
    public void User_supervisor_and_write_protect_follow_the_spec()
    {
        ulong root = Page();
        Map(root, 4, 0x1000, 1, 0x9000 | P | US);            // user, read-only
        Map(root, 4, 0x2000, 1, 0xA000 | P | RW);            // supervisor page, writable
        SetPasidFirstLevel(root, Sre);
        const DmaRequestAttributes Priv = DmaRequestAttributes.Privileged;

        Assert.Equal(FaultReason.SmNoWritePermission, Dma(0x1000, DmaAccess.Write).Fault);        // 85h
        Assert.Equal(FaultReason.SmUserAccessDenied, Dma(0x2000, DmaAccess.Read).Fault);          // 81h
        Assert.True(Dma(0x2000, DmaAccess.Write, Priv).IsSuccess);                                // supervisor page
        Assert.True(Dma(0x1000, DmaAccess.Write, Priv).IsSuccess);                                // WPE = 0: R/W not checked

        SetPasidFirstLevel(root, Sre | Wpe, pasid: 6);
        Assert.Equal(FaultReason.SmNoWritePermission, Dma(0x1000, DmaAccess.Write, Priv, pasid: 6).Fault);
        SetPasidFirstLevel(root, 0, pasid: 7);                                                     // SRE clear
        Assert.Equal(FaultReason.SmSupervisorRequestsNotEnabled, Dma(0x2000, DmaAccess.Read, Priv, pasid: 7).Fault); // 5Dh
        // A supervisor translation never lands in the IOTLB for user requests.
        Assert.Equal(FaultReason.SmUserAccessDenied, Dma(0x2000, DmaAccess.Read).Fault);
    }

    [Fact]
    public void Execute_requests_need_ERE_and_obey_XD_and_SMEP()
    {
        using var rig = SpecRig.ScalableWith(1UL << 30); // ECAP_REG.ERS
        var tests = new FirstLevelTranslationTests(rig);
        ulong root = tests.Page();
        tests.Map(root, 4, 0x1000, 1, 0x9000 | P | US | XD);   // user, no execute
        tests.Map(root, 4, 0x2000, 1, 0xA000 | P | US);        // user, executable
        tests.SetPasidFirstLevel(root, Ere | Nxe | Sre | Smep);
        const DmaRequestAttributes X = DmaRequestAttributes.Execute;
        Assert.Equal(FaultReason.SmNoExecutePermission, tests.Dma(0x1000, DmaAccess.Read, X).Fault);      // 82h: XD
        Assert.True(tests.Dma(0x2000, DmaAccess.Read, X).IsSuccess);
        Assert.Equal(FaultReason.SmNoExecutePermission,
            tests.Dma(0x2000, DmaAccess.Read, X | DmaRequestAttributes.Privileged).Fault);                 // SMEP
        tests.SetPasidFirstLevel(root, Ere, pasid: 6);                                                      // NXE clear: XD ignored
        Assert.True(tests.Dma(0x1000, DmaAccess.Read, X, pasid: 6).IsSuccess);
        tests.SetPasidFirstLevel(root, 0, pasid: 7);
        Assert.Equal(FaultReason.SmExecuteRequestsNotEnabled, tests.Dma(0x2000, DmaAccess.Read, X, pasid: 7).Fault); // 5Ch

        // The preset has no ERS: a PASID entry with ERE is invalid there.
        ulong other = Page();
        SetPasidFirstLevel(other, Ere);
        Assert.Equal(FaultReason.SmInvalidPasidEntry, Dma(0x1000, DmaAccess.Read).Fault);                // 5Bh
    }

    [Fact]
    public void The_iotlb_keeps_a_changed_leaf_until_the_pasid_based_invalidation()
    {
        ulong root = Page();
        ulong leaf = Map(root, 4, 0x5000, 1, 0xB000 | P | RW | US);
        SetPasidFirstLevel(root, 0);
        Assert.Equal(0xB000UL, Dma(0x5000, DmaAccess.Read).Hpa);
        Write(leaf, 0xC000 | P | RW | US);
        Assert.Equal(0xB000UL, Dma(0x5000, DmaAccess.Read).Hpa); // cached, as in silicon
        _rig.Driver.SubmitAndWait(InvDescriptor.PasidIotlb(InvDescriptor.PasidIotlbPage, Did, Pasid, 0x5000));
        Assert.Equal(0xC000UL, Dma(0x5000, DmaAccess.Read).Hpa);
    }

    [Fact]
    public void The_sanitizer_names_the_missing_pasid_based_invalidation_after_a_first_level_change()
    {
        InvalidationSanitizer sanitizer = _rig.Unit.EnableSanitizer();
        ulong root = Page();
        ulong leaf = Map(root, 4, 0x5000, 1, 0xB000 | P | RW | US);
        Map(root, 4, 0x6000, 1, 0xD000 | P | RW | US);
        SetPasidFirstLevel(root, 0);
        Assert.Equal(0xB000UL, Dma(0x5000, DmaAccess.Read).Hpa);
        Write(leaf, 0xC000 | P | RW | US);
        // The driver flushes the wrong page.
        _rig.Driver.SubmitAndWait(InvDescriptor.PasidIotlb(InvDescriptor.PasidIotlbPage, Did, Pasid, 0x6000));
        Assert.Equal(0xB000UL, Dma(0x5000, DmaAccess.Read).Hpa);
        StaleTranslationReport report = Assert.Single(sanitizer.GetReports());
        Assert.Contains($"PASID-based IOTLB invalidation DID {Did} PASID {Pasid} ADDR 0x5000", report.MissingInvalidation, StringComparison.Ordinal);
    }

    // ---- nested translation (PGTT 011b, spec 3.8) ----------------------------------------------------------------

    private const ulong GuestBase = 0x1_0000_0000; // GPA 4 GiB is HPA 0: the second stage maps [4 GiB, 5 GiB) onto the memory
    private const ulong SlR = 1, SlW = 1 << 1, SlPs = 1 << 7;

    /// <summary>A 4-level second-level table (spec 9.8) mapping GPA [4 GiB, 5 GiB) to HPA [0, 1 GiB) with one 1 GiB leaf
    /// of the given rights; returns its root.</summary>
    private ulong SecondStage(ulong rights)
    {
        ulong pml4 = Page(), pdpt = Page();
        Write(pml4, pdpt | SlR | SlW);
        Write(pdpt + 4 * 8, rights | SlPs); // PDPT index 4 = GPA 4 GiB; the leaf's address bits are 0 (HPA 0)
        return pml4;
    }

    private void SetPasidNested(ulong flRootGpa, ulong slRoot, uint pasid = Pasid)
    {
        ulong entry = _rig.Driver.PasidEntryAddress(Bus, Devfn, pasid);
        for (ulong q = 1; q < 8; q++)
            Write(entry + q * 8, 0);
        Write(entry + 8, Did);
        Write(entry + 16, flRootGpa);
        Write(entry, slRoot | (2UL << 2) | (3UL << 6) | 1); // AW 2 (4 levels), PGTT 011b, P last
    }

    [Fact]
    public void Nested_walks_translate_table_pointers_and_output_through_the_second_stage()
    {
        ulong slRoot = SecondStage(SlR | SlW);
        ulong flRoot = Page();                                                        // HPA; its GPA is + 4 GiB
        ulong leaf = Map(flRoot, 4, 0x7000, 1, (GuestBase + 0x12_3000) | P | RW | US, gpaOffset: GuestBase);
        Map(flRoot, 4, 0x40_0000, 2, (GuestBase + 0x20_0000) | P | RW | US | PS, gpaOffset: GuestBase);
        Map(flRoot, 4, 0x8000, 1, 0x9000 | P | RW | US, gpaOffset: GuestBase);        // output GPA below 4 GiB: unmapped
        SetPasidNested(flRoot + GuestBase, slRoot);

        TranslationResult r = Dma(0x7abc, DmaAccess.Read);
        Assert.True(r.IsSuccess, r.ToString());
        Assert.Equal((0x12_3abcUL, 4096UL), (r.Hpa, (ulong)r.PageSize));
        Assert.Equal(A, Read(leaf) & A);                                              // A written at the entry's HPA
        TranslationResult big = Dma(0x41_2345, DmaAccess.Read);                       // FL 2 MiB over SL 1 GiB: 2 MiB
        Assert.Equal((0x21_2345UL, 2UL << 20), (big.Hpa, (ulong)big.PageSize));
        Assert.Equal(FaultReason.SmSecondLevelNotPresent, Dma(0x8000, DmaAccess.Read).Fault); // output not mapped: 79h

        SetPasidNested(flRoot, slRoot, pasid: 6);                                      // FLPTPTR as an HPA: GPA 0 is unmapped
        Assert.Equal(FaultReason.SmNestedFirstLevelRootReadDenied, Dma(0x7000, DmaAccess.Read, pasid: 6).Fault); // 75h
        ulong brokenRoot = Page();
        Write(brokenRoot, Page() | Table);                                             // an FL-PDPT pointer without the GPA base
        SetPasidNested(brokenRoot + GuestBase, slRoot, pasid: 7);
        Assert.Equal(FaultReason.SmNestedFirstLevelReadDenied, Dma(0x7000, DmaAccess.Read, pasid: 7).Fault);      // 76h
    }

    [Fact]
    public void Nested_A_and_D_updates_need_second_stage_write_permission()
    {
        ulong slRoot = SecondStage(SlR);                                               // the guest's memory is read-only
        ulong flRoot = Page();
        Map(flRoot, 4, 0x7000, 1, (GuestBase + 0x12_3000) | P | RW | US, gpaOffset: GuestBase);
        SetPasidNested(flRoot + GuestBase, slRoot);
        Assert.Equal(FaultReason.SmNestedFirstLevelWriteDenied, Dma(0x7000, DmaAccess.Read).Fault);              // 77h
    }
}
