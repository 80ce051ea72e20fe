using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.PageTables;

/// <summary>
/// Every bad input to map and unmap, each asserting the errno and that nothing changed: the
/// bytes of the whole simulated memory, the frame count and the leaf list are snapshotted
/// before the call and compared after it.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private const ulong R = (ulong)DmaProtection.Read;
    private readonly PhysicalMemory _memory = new(0x40_0000, 0x8000_0000);
    private readonly SecondLevelPageTable _table;

    public BadInputTests()
    {
        _table = new SecondLevelPageTable(_memory); // 4 levels, 48-bit IOVA, 46-bit HAW
        _table.Map(0x10_0000, 0x5000_0000, 0x3000, DmaProtection.ReadWrite);     // three 4 KiB pages
        _table.Map(0x40_0000, 0x6000_0000, 0x20_0000, DmaProtection.Read);       // one 2 MiB superpage
    }

    public void Dispose()
    {
        _table.Dispose();
        _memory.Dispose();
    }

    public static TheoryData<ulong, ulong, ulong, ulong, Errno> BadMaps => new()
    {
        { 0x20_0000, 0x1000, 0, R, Errno.EINVAL },                              // zero size
        { 0x20_0800, 0x1000, 0x1000, R, Errno.EINVAL },                         // IOVA unaligned
        { 0x20_0000, 0x1010, 0x1000, R, Errno.EINVAL },                         // HPA unaligned
        { 0x20_0000, 0x1000, 0x1001, R, Errno.EINVAL },                         // size unaligned
        { 0x20_0000, 0x1000, 0x1000, 0, Errno.EINVAL },                         // no permission
        { 0x20_0000, 0x1000, 0x1000, 4, Errno.EINVAL },                         // unknown permission bit
        { 1UL << 48, 0x1000, 0x1000, R, Errno.ERANGE },                         // IOVA at 2^48
        { (1UL << 48) - 0x1000, 0x1000, 0x2000, R, Errno.ERANGE },              // IOVA range crosses 2^48
        { 0xFFFF_FFFF_FFFF_F000, 0x1000, 0x2000, R, Errno.ERANGE },             // IOVA range wraps 2^64
        { 0x20_0000, 1UL << 46, 0x1000, R, Errno.EINVAL },                      // HPA at 2^46 (HAW)
        { 0x20_0000, (1UL << 46) - 0x1000, 0x2000, R, Errno.EINVAL },           // HPA range crosses 2^46
        { 0x10_1000, 0x7000_0000, 0x1000, R, Errno.EEXIST },                    // exactly an existing 4 KiB page
        { 0x0F_E000, 0x7000_0000, 0x3000, R, Errno.EEXIST },                    // two free pages, then a mapped one
        { 0x40_0000 + 0x5000, 0x7000_0000, 0x1000, R, Errno.EEXIST },           // inside the superpage
        { 0x3F_F000, 0x7000_0000, 0x2000, R, Errno.EEXIST },                    // free page, then the superpage
        { 0, 0x7000_0000, 0x20_0000, R, Errno.EEXIST },                         // a 2 MiB leaf over mapped 4 KiB pages
    };

    [Theory]
    [MemberData(nameof(BadMaps))]
    public void Map_BadInput_FailsAndChangesNothing(ulong iova, ulong hpa, ulong size, ulong prot, Errno expected)
    {
        // The last case only fails if the 2 MiB range at 0 holds the 4 KiB pages; move them there.
        if (iova == 0 && size == 0x20_0000)
            _table.Map(0x8000, 0x9000, 0x1000, DmaProtection.Read);
        AssertUnchanged(expected, () => _table.Map(iova, hpa, size, (DmaProtection)prot));
    }

    [Theory]
    [InlineData(0x10_0000UL, 0UL, Errno.EINVAL)]                       // zero size
    [InlineData(0x10_0800UL, 0x1000UL, Errno.EINVAL)]                  // IOVA unaligned
    [InlineData(0x10_0000UL, 0x800UL, Errno.EINVAL)]                   // size unaligned
    [InlineData(1UL << 48, 0x1000UL, Errno.ERANGE)]                    // beyond the width
    [InlineData((1UL << 48) - 0x1000, 0x2000UL, Errno.ERANGE)]         // crosses the width
    [InlineData(0xFFFF_FFFF_FFFF_F000UL, 0x2000UL, Errno.ERANGE)]      // wraps
    public void Unmap_BadInput_FailsAndChangesNothing(ulong iova, ulong size, Errno expected)
        => AssertUnchanged(expected, () => _table.Unmap(iova, size));

    [Fact]
    public void Map_OutOfFrames_IsEnomem_AndChangesNothing()
    {
        // Use up all but two frames, then ask for a mapping that needs three new table pages.
        while (_memory.Frames.FreeFrames > 2)
            _memory.Frames.Allocate();
        AssertUnchanged(Errno.ENOMEM, () => _table.Map(0x80_0000_0000, 0x1000, 0x1000, DmaProtection.Read));

        // With exactly enough frames it succeeds.
        using var big = new PhysicalMemory(0x4000);
        using var table = new SecondLevelPageTable(big); // root + 3 frames free
        table.Map(0x1000, 0x1000, 0x1000, DmaProtection.Read);
        Assert.Equal(0, big.Frames.FreeFrames);
        Assert.Equal(Errno.ENOMEM, Assert.Throws<IommuException>(() => table.Map(0x80_0000_0000, 0x1000, 0x1000, DmaProtection.Read)).Code);
    }

    [Theory]
    [InlineData(2, PageSizes.All, 46)]
    [InlineData(6, PageSizes.All, 46)]
    [InlineData(4, PageSizes.Size2M, 46)]                            // no 4 KiB
    [InlineData(4, PageSizes.All | (PageSizes)(1UL << 39), 46)]     // 512 GiB pages do not exist
    [InlineData(4, PageSizes.All, 31)]
    [InlineData(4, PageSizes.All, 53)]
    public void Format_OutOfRange_IsEinval(int levels, PageSizes sizes, int haw)
    {
        var format = new SecondLevelFormat { Levels = levels, PageSizes = sizes, HostAddressWidth = haw };
        int before = _memory.Frames.AllocatedFrames;
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => new SecondLevelPageTable(_memory, format)).Code);
        Assert.Equal(before, _memory.Frames.AllocatedFrames);
    }

    [Fact]
    public void MemoryAboveHaw_IsEinval()
    {
        using var high = new PhysicalMemory(0x2000, 1UL << 40);
        var e = Assert.Throws<IommuException>(() => new SecondLevelPageTable(high, new SecondLevelFormat { HostAddressWidth = 39 }));
        Assert.Equal(Errno.EINVAL, e.Code);
    }

    private void AssertUnchanged(Errno expected, Action call)
    {
        byte[] before = Snapshot();
        int frames = _memory.Frames.AllocatedFrames;
        IReadOnlyList<IoMapping> mappings = _table.GetMappings();
        ulong mapped = _table.MappedBytes;

        var e = Assert.Throws<IommuException>(call);
        Assert.Equal(expected, e.Code);
        Assert.StartsWith(expected.ToString() + ":", e.Message, StringComparison.Ordinal);

        Assert.Equal(frames, _memory.Frames.AllocatedFrames);
        Assert.Equal(mappings, _table.GetMappings());
        Assert.Equal(mapped, _table.MappedBytes);
        Assert.True(before.AsSpan().SequenceEqual(Snapshot()), "simulated memory changed");
    }

    private byte[] Snapshot()
    {
        var bytes = new byte[_memory.Size];
        _memory.CopyTo(_memory.BaseHpa, bytes);
        return bytes;
    }
}
