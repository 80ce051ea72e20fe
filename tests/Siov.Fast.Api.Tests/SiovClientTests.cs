using System.Buffers.Binary;
using Siov.Fast.Client;

namespace Siov.Fast.Api.Tests;

/// <summary>
/// The typed client (src/Siov.Fast.Client) against the test host: seed 002's VM1 (the NIC's group and an mdev of
/// 01:00.0 in one container), translations by JSON and by binary batch, and errors as <see cref="SiovApiException"/>
/// with the errno name.
/// </summary>
public sealed class SiovClientTests : ApiTestHost
{
    private const ulong Vm1Memory = 0x40_0000_0000;

    [Fact]
    public async Task SiovClient_RunsSeed002Vm1_AndTranslatesBinaryBatches()
    {
        var siov = new SiovClient(Client);
        Assert.True((await siov.EnableAuxAsync("01:00.0")).Enabled);
        Mdev mdev = await siov.CreateMdevAsync("01:00.0", "idxd-wq", "11111111-0000-0000-0000-000000000002");
        DeviceInfo nic = await siov.GetDeviceAsync("02:00.0");
        ContainerInfo vm1 = await siov.CreateContainerAsync();
        await siov.AttachGroupAsync(vm1.Id, nic.Group!.Value);
        vm1 = await siov.AttachGroupAsync(vm1.Id, mdev.Group!.Value);
        Mapping mapped = await siov.MapDmaAsync(vm1.Id, Mapping.Of(0, Vm1Memory, 64 << 20));
        Assert.Equal("0x4000000", mapped.Size);
        int domain = Assert.Single(vm1.Domains);
        Assert.Equal(domain, (await siov.GetMdevAsync(mdev.Uuid)).Domain);
        uint pasid = (await siov.GetDeviceAsync("01:00.0")).Pasids.Single(p => p.Domain == domain).Pasid;

        TranslateResult hit = await siov.TranslateAsync("01:00.0", 0x12345, pasid, "write");
        Assert.Equal($"0x{Vm1Memory + 0x12345:x}", hit.Hpa);
        TranslateResult fault = await siov.TranslateAsync("01:00.0", 0x12345, pasid + 1);
        Assert.False(fault.Ok);
        Assert.Null(fault.Hpa);
        Assert.Equal("0x59", fault.Fault!.Code);

        // Binary: the NIC (requester 0x0200, no PASID) and the mdev's PASID on its parent (0x0100).
        byte[] requests = new byte[3 * SiovClient.BatchRecordSize], results = new byte[requests.Length];
        Record(requests, 0, 0x1000, null, 0x0200);
        Record(requests, 1, 0x2345, pasid, 0x0100);
        Record(requests, 2, GuestRamEnd, null, 0x0200);
        Assert.Equal(requests.Length, await siov.TranslateBatchAsync(requests, requests.Length, results));
        Assert.Equal(Vm1Memory + 0x1000, BinaryPrimitives.ReadUInt64LittleEndian(results));
        Assert.Equal(Vm1Memory + 0x2345, BinaryPrimitives.ReadUInt64LittleEndian(results.AsSpan(16)));
        Assert.NotEqual(0, results[32 + 10]); // a fault reason beyond guest RAM

        SiovApiException missing = await Assert.ThrowsAsync<SiovApiException>(() => siov.GetDomainAsync(999999));
        Assert.Equal((404, "ENOENT"), (missing.Status, missing.Code));
        SiovApiException busy = await Assert.ThrowsAsync<SiovApiException>(() => siov.CreateMdevAsync("01:00.0", "idxd-wq", mdev.Uuid));
        Assert.Equal(409, busy.Status);
        Assert.Equal("EEXIST", busy.Code);
    }

    private const ulong GuestRamEnd = 64 << 20;

    private static void Record(byte[] body, int index, ulong iova, uint? pasid, ushort requesterId)
    {
        Span<byte> r = body.AsSpan(index * SiovClient.BatchRecordSize, SiovClient.BatchRecordSize);
        BinaryPrimitives.WriteUInt64LittleEndian(r, iova);
        BinaryPrimitives.WriteUInt32LittleEndian(r[8..], pasid ?? 0);
        BinaryPrimitives.WriteUInt16LittleEndian(r[12..], requesterId);
        r[14] = 1; // read
        r[15] = pasid is null ? (byte)0 : (byte)1;
    }
}
