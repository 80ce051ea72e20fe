using Siov.Fast.Memory;

namespace Siov.Fast.Tests.Memory;

public class PhysicalMemoryTests
{
    [Theory]
    [InlineData(0UL, 0UL)]                      // zero size
    [InlineData(4097UL, 0UL)]                   // size not a multiple of 4 KiB
    [InlineData(4096UL, 0x800UL)]               // base not 4 KiB aligned
    [InlineData(0x2000UL, 0xF_FFFF_FFFF_F000UL)] // runs past 2^52
    public void Constructor_BadRegion_IsEinval(ulong size, ulong baseHpa)
    {
        var e = Assert.Throws<IommuException>(() => new PhysicalMemory(size, baseHpa));
        Assert.Equal(Errno.EINVAL, e.Code);
    }

    [Fact]
    public void Entries_RoundTrip_AtTheirHpa()
    {
        using var memory = new PhysicalMemory(0x4000, baseHpa: 0x8000_0000);
        memory.WriteUInt64(0x8000_1008, 0x1122_3344_5566_7788);
        Assert.Equal(0x1122_3344_5566_7788UL, memory.ReadUInt64(0x8000_1008));
        Assert.Equal(0x1122_3344_5566_7788UL, memory.CompareExchangeUInt64(0x8000_1008, 7, 0x1122_3344_5566_7788));
        Assert.Equal(7UL, memory.ReadUInt64(0x8000_1008));

        // Little-endian bytes at the entry's HPA, as hardware reads them.
        var bytes = new byte[8];
        memory.CopyTo(0x8000_1008, bytes);
        Assert.Equal(new byte[] { 7, 0, 0, 0, 0, 0, 0, 0 }, bytes);
    }

    [Theory]
    [InlineData(0x7FFF_FFF8UL)] // just below the region
    [InlineData(0x8000_4000UL)] // just past the end
    [InlineData(0x8000_3FFCUL)] // unaligned, and would straddle the end
    [InlineData(0x8000_0004UL)] // unaligned
    [InlineData(0UL)]
    [InlineData(ulong.MaxValue - 7)]
    public void Access_OutsideOrUnaligned_IsEinvalNotACrash(ulong hpa)
    {
        using var memory = new PhysicalMemory(0x4000, baseHpa: 0x8000_0000);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => memory.ReadUInt64(hpa)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => memory.WriteUInt64(hpa, 1)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => memory.CompareExchangeUInt64(hpa, 1, 0)).Code);
    }

    [Fact]
    public void Message_NamesTheAddressInHex()
    {
        using var memory = new PhysicalMemory(0x4000, baseHpa: 0x8000_0000);
        var e = Assert.Throws<IommuException>(() => memory.ReadUInt64(0x9000_0000));
        Assert.Contains("0x90000000", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("EINVAL", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Frames_AreAlignedZeroedAndReused()
    {
        using var memory = new PhysicalMemory(0x3000, baseHpa: 0x10_0000);
        FrameAllocator frames = memory.Frames;
        Assert.Equal(3, frames.TotalFrames);

        ulong a = frames.Allocate();
        ulong b = frames.Allocate();
        ulong c = frames.Allocate();
        Assert.Equal(new[] { 0x10_0000UL, 0x10_1000UL, 0x10_2000UL }, new[] { a, b, c });
        Assert.Equal(Errno.ENOMEM, Assert.Throws<IommuException>(() => frames.Allocate()).Code);
        Assert.False(frames.TryAllocate(out _));

        memory.WriteUInt64(b + 0xFF8, 0xDEAD);
        frames.Free(b);
        Assert.False(frames.IsAllocated(b));
        Assert.Equal(2, frames.AllocatedFrames);
        Assert.Equal(b, frames.Allocate());        // reused ...
        Assert.Equal(0UL, memory.ReadUInt64(b + 0xFF8)); // ... and zero-filled
    }

    [Fact]
    public void Free_Twice_OrForeign_IsEinval()
    {
        using var memory = new PhysicalMemory(0x2000);
        ulong a = memory.Frames.Allocate();
        memory.Frames.Free(a);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => memory.Frames.Free(a)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => memory.Frames.Free(0x800)).Code);
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => memory.Frames.Free(0x10_0000)).Code);
        Assert.Equal(0, memory.Frames.AllocatedFrames);
    }

    [Fact]
    public void Disposed_Memory_RejectsAccess()
    {
        var memory = new PhysicalMemory(0x2000);
        memory.Dispose();
        Assert.Equal(Errno.EINVAL, Assert.Throws<IommuException>(() => memory.ReadUInt64(0)).Code);
        memory.Dispose(); // idempotent
    }
}
