using Siov.Fast.Memory;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.PageTables;

/// <summary>
/// Thousands of random map/unmap/translate operations on tables of every level count, each
/// result compared with <see cref="ReferenceIoPageTable"/>; the full leaf list, the mapped-byte
/// count and the frame accounting are compared at intervals and at the end.
/// </summary>
public class ModelBasedTests
{
    public static TheoryData<int, PageSizes, int> Configurations => new()
    {
        { 3, PageSizes.All, 1 },
        { 4, PageSizes.All, 2 },
        { 5, PageSizes.All, 3 },
        { 4, PageSizes.Size4K | PageSizes.Size2M, 4 },
        { 5, PageSizes.Size4K, 5 },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void RandomOperations_MatchTheReferenceModel(int levels, PageSizes sizes, int seed)
    {
        const int hostAddressWidth = 46;
        var format = new SecondLevelFormat { Levels = levels, PageSizes = sizes, HostAddressWidth = hostAddressWidth };
        using var memory = new PhysicalMemory(64UL << 20);
        using var table = new SecondLevelPageTable(memory, format);
        var model = new ReferenceIoPageTable(format.AddressWidth, hostAddressWidth, sizes);
        var random = new Random(seed);

        // Windows of 8 GiB: at 0, in the middle and at the very top of the IOVA space, so
        // every index of every level (including the top one) is exercised.
        ulong top = 1UL << format.AddressWidth;
        ulong[] windows = [0, 0x1_0000_0000, top / 2, top - (8UL << 30)];

        int maps = 0, unmaps = 0, faults = 0;
        for (int op = 0; op < 4000; op++)
        {
            ulong window = windows[random.Next(windows.Length)];
            int kind = random.Next(100);
            if (kind < 45)
            {
                (ulong iova, ulong hpa, ulong size) = RandomMapping(random, window, hostAddressWidth, sizes);
                var prot = (DmaProtection)random.Next(1, 4);
                Errno? expected = model.Map(iova, hpa, size, prot);
                Errno? actual = Capture(() => table.Map(iova, hpa, size, prot));
                Assert.True(expected == actual, $"op {op}: map {iova:x} -> {hpa:x} +{size:x}: model {expected}, engine {actual}");
                if (actual == null)
                    maps++;
            }
            else if (kind < 70)
            {
                ulong iova = window + (ulong)random.Next(0, 4096) * 0x1000 + (random.Next(8) == 0 ? (ulong)random.Next(4) << 30 : 0UL);
                ulong size = random.Next(10) switch
                {
                    0 => 1UL << 30,
                    1 => (ulong)random.Next(1, 4) << 21,
                    _ => (ulong)random.Next(1, 64) * 0x1000,
                };
                if (iova + size > top)
                    size = top - iova;
                (Errno? expectedError, ulong expectedBytes) = model.Unmap(iova, size);
                ulong bytes = 0;
                Errno? actual = Capture(() => bytes = table.Unmap(iova, size));
                Assert.True(expectedError == actual, $"op {op}: unmap {iova:x} +{size:x}: model {expectedError}, engine {actual}");
                Assert.True(expectedBytes == bytes, $"op {op}: unmap {iova:x} +{size:x}: model {expectedBytes:x} bytes, engine {bytes:x}");
                unmaps++;
            }
            else
            {
                for (int probe = 0; probe < 8; probe++)
                {
                    ulong iova = window + (ulong)random.NextInt64(0, 8L << 30);
                    var access = (DmaAccess)random.Next(0, 4);
                    WalkResult walk = table.Walk(iova, access);
                    IoMapping? leaf = model.Lookup(iova);
                    if (leaf is not { } l)
                    {
                        Assert.Equal(WalkStatus.NotPresent, walk.Status);
                        Assert.Equal(0UL, table.IovaToPhys(iova));
                        faults++;
                        continue;
                    }
                    Assert.Equal(l.Hpa + (iova - l.Iova), walk.Hpa);
                    Assert.Equal(l.Size, walk.PageSize);
                    Assert.Equal(l.Protection, walk.Permissions);
                    var missing = (DmaProtection)access & ~l.Protection;
                    WalkStatus expected = missing == 0 ? WalkStatus.Success
                        : (missing & DmaProtection.Read) != 0 ? WalkStatus.ReadDenied : WalkStatus.WriteDenied;
                    Assert.Equal(expected, walk.Status);
                }
            }

            if (op % 250 == 0)
                AssertSameState(table, model, memory);
        }
        AssertSameState(table, model, memory);
        Assert.True(maps > 300 && unmaps > 300 && faults > 100, $"too few operations took effect: {maps} maps, {unmaps} unmaps, {faults} faults");
    }

    private static (ulong Iova, ulong Hpa, ulong Size) RandomMapping(Random random, ulong window, int haw, PageSizes sizes)
    {
        ulong hpaTop = 1UL << haw;
        int kind = random.Next(10);
        if (kind == 0 && (sizes & PageSizes.Size2M) == 0)
            kind = 9; // 1 GiB in 4 KiB leaves would be 262,144 of them
        switch (kind)
        {
            case 0: // 1 GiB-aligned candidates; HPA at least 2 MiB aligned so leaves stay large
                ulong gib = 1UL << 30;
                return (window + (ulong)random.Next(0, 8) * gib,
                    (ulong)random.NextInt64(0, (long)(hpaTop / gib)) * gib + (random.Next(2) == 0 ? 0UL : (ulong)random.Next(512) << 21),
                    gib * (ulong)random.Next(1, 3) + (random.Next(2) == 0 ? 0UL : 0x20_0000UL));
            case 1:
            case 2: // 2 MiB-aligned
                ulong mib2 = 1UL << 21;
                return (window + (ulong)random.Next(0, 64) * mib2,
                    (ulong)random.NextInt64(0, (long)(hpaTop / mib2)) * mib2 + (random.Next(4) == 0 ? 0x1000UL : 0UL),
                    mib2 * (ulong)random.Next(1, 4) + (random.Next(3) == 0 ? (ulong)random.Next(1, 8) * 0x1000 : 0UL));
            case 3: // occasionally an HPA range that runs past the host address width
                return (window + (ulong)random.Next(0, 4096) * 0x1000, hpaTop - 0x2000, 0x4000);
            default: // 4 KiB pages in a dense 16 MiB area, so overlaps are frequent
                return (window + (ulong)random.Next(0, 4096) * 0x1000,
                    (ulong)random.NextInt64(0, (long)(hpaTop >> 12) - 64) * 0x1000,
                    (ulong)random.Next(1, 33) * 0x1000);
        }
    }

    private static Errno? Capture(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (IommuException e)
        {
            return e.Code;
        }
    }

    private static void AssertSameState(SecondLevelPageTable table, ReferenceIoPageTable model, PhysicalMemory memory)
    {
        Assert.Equal(model.Leaves, table.GetMappings());
        Assert.Equal(model.Leaves.Aggregate(0UL, (sum, l) => sum + l.Size), table.MappedBytes);
        Assert.Equal(table.TablePages, memory.Frames.AllocatedFrames);
    }
}
