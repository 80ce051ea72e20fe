using Siov.Fast.Ats;
using Siov.Fast.Iommu;
using Siov.Fast.Iommufd;
using Siov.Fast.Tests.Iommu;

namespace Siov.Fast.Tests.Iommufd;

/// <summary>
/// iommufd fault objects (<c>IOMMU_FAULT_QUEUE_ALLOC</c>) as the kernel defines them: a HWPT allocated with
/// <c>IOMMU_HWPT_FAULT_ID_VALID</c> sends its page faults to user space, which reads them as records and answers each
/// group by cookie; the device's ATC sees the answer. Errno cases beside the calls that succeed.
/// </summary>
public sealed class IommufdFaultTests : IDisposable
{
    private const uint Pasid = 9;
    private readonly CoreFixture _f = new();
    private readonly IommufdContext _ctx;
    private readonly PciDevice _pci;
    private readonly IommufdDevice _dev;
    private readonly IommufdIoas _ioas;
    private readonly IommufdFault _fault;
    private readonly IommufdHwptPaging _hwpt;
    private readonly DeviceTlb _atc;
    private readonly List<PageGroupResponse> _responses = [];

    public IommufdFaultTests()
    {
        _ctx = new IommufdContext(_f.Core);
        _pci = _f.Pci("05:00.0"); // 20-bit PASIDs, ATS and PRI
        _dev = _ctx.BindDevice(_pci);
        _ioas = _ctx.AllocIoas();
        _fault = _ctx.AllocFault();
        _hwpt = _ctx.AllocHwpt(_dev.Id, _ioas.Id, IommufdHwptAllocOptions.FaultIdValid, _fault.Id);
        _ctx.AttachPasid(_dev.Id, Pasid, _hwpt.Id);
        _atc = new DeviceTlb(_f.Unit, _pci.RequesterId);
        _atc.PageGroupResponseReceived += (_, r) => _responses.Add(r);
    }

    public void Dispose()
    {
        _atc.Dispose();
        _ctx.Dispose();
        _f.Dispose();
    }

    private static Errno Code(Action call) => Assert.Throws<IommuException>(call).Code;

    private void PageRequest(ulong address, int index, bool last = true) =>
        _f.Unit.SendPageRequest(new PageRequest(_pci.RequesterId, Pasid, address, Read: true, Write: true, Execute: false, Privileged: false, index, last));

    [Fact]
    public void FaultIsReadMappedAndAnsweredFromUserSpace()
    {
        var write = new DmaRequest(_pci.RequesterId, Pasid, 0x20_0010, DmaAccess.Write);
        Assert.Equal(AtcOutcome.NotPresent, _atc.Translate(write, out _));
        PageRequest(0x20_0010, index: 4);
        Assert.Empty(_responses); // queued for user space
        Assert.Equal(1, _fault.UnreadGroups);

        IommufdPageFault record = Assert.Single(_fault.Read(16));
        Assert.Equal(new IommufdPageFault(IommufdPageFaultAttributes.PasidValid | IommufdPageFaultAttributes.LastPage, _dev.Id, Pasid, 4,
            IommufdPageFaultPermissions.Read | IommufdPageFaultPermissions.Write, 0x20_0000, 0x1000, record.Cookie), record);
        Assert.Equal(1, _fault.AwaitingResponse);

        _ioas.Map(0x20_0000, 0x4000_0000, 0x1000, DmaProtection.ReadWrite);
        _fault.Respond(record.Cookie, IommufdPageResponseCode.Success);
        Assert.Equal(new PageGroupResponse(_pci.RequesterId, Pasid, 4, PageResponseCode.Success), Assert.Single(_responses));
        Assert.Equal(AtcOutcome.Filled, _atc.Translate(write, out TranslationResult r));
        Assert.Equal(0x4000_0010UL, r.Hpa);

        Assert.Equal(Errno.EINVAL, Code(() => _fault.Respond(record.Cookie, IommufdPageResponseCode.Success))); // answered already
    }

    [Fact]
    public void AGroupIsReadWholeWithOneCookie()
    {
        PageRequest(0x1000, 7, last: false);
        PageRequest(0x2000, 7, last: false);
        PageRequest(0x3000, 7);
        Assert.Empty(_fault.Read(2)); // the group does not fit two records: left for a larger read
        IReadOnlyList<IommufdPageFault> records = _fault.Read(3);
        Assert.Equal(3, records.Count);
        Assert.Single(records.Select(r => r.Cookie).Distinct());
        Assert.Equal([false, false, true], records.Select(r => (r.Flags & IommufdPageFaultAttributes.LastPage) != 0));
        _fault.Respond(records[0].Cookie, IommufdPageResponseCode.Invalid);
        Assert.Equal(PageResponseCode.InvalidRequest, Assert.Single(_responses).Code);
    }

    [Fact]
    public void ErrnoCases()
    {
        Assert.Equal(Errno.EINVAL, Code(() => _fault.Respond(77, IommufdPageResponseCode.Success)));          // never read
        Assert.Equal(Errno.EINVAL, Code(() => _fault.Respond(1, (IommufdPageResponseCode)5)));               // bad code
        Assert.Equal(Errno.EINVAL, Code(() => _fault.Read(0)));
        Assert.Equal(Errno.ENOENT, Code(() => _ctx.AllocHwpt(_dev.Id, _ioas.Id, IommufdHwptAllocOptions.FaultIdValid, _ioas.Id))); // not a fault
        Assert.Equal(Errno.EBUSY, Code(() => _ctx.Destroy(_fault.Id)));                                     // a HWPT uses it

        // A device that cannot send page requests cannot use a HWPT that reports them.
        PciDevice plain = _f.Pci("05:01.0", siov: false);
        IommufdDevice plainDev = _ctx.BindDevice(plain);
        IommufdHwptPaging withFaults = _ctx.AllocHwpt(plainDev.Id, _ioas.Id, IommufdHwptAllocOptions.FaultIdValid, _fault.Id);
        Assert.Equal(Errno.EOPNOTSUPP, Code(() => _ctx.Attach(plainDev.Id, withFaults.Id)));
        Assert.Null(plainDev.Hwpt);
    }

    [Fact]
    public void FreeingTheHwptAnswersItsGroupsInvalid()
    {
        PageRequest(0x5000, 1);
        PageRequest(0x6000, 2);
        IommufdPageFault read = Assert.Single(_fault.Read(1));
        _ctx.DetachPasid(_dev.Id, Pasid);
        _ctx.Destroy(_hwpt.Id);
        Assert.Equal(2, _responses.Count);
        Assert.All(_responses, r => Assert.Equal(PageResponseCode.InvalidRequest, r.Code));
        Assert.Equal(0, _fault.UnreadGroups + _fault.AwaitingResponse);
        Assert.Equal(Errno.EINVAL, Code(() => _fault.Respond(read.Cookie, IommufdPageResponseCode.Success)));
        _ctx.Destroy(_fault.Id); // unused now
    }

    [Fact]
    public void AFullQueueRefusesNewGroups()
    {
        for (int i = 0; i < IommufdFault.MaxQueuedGroups; i++)
            PageRequest((ulong)i << 12, i % 512);
        Assert.Empty(_responses);
        PageRequest(0x99_9000, 5);
        Assert.Equal(PageResponseCode.InvalidRequest, Assert.Single(_responses).Code);
        Assert.Equal(1, _fault.RefusedGroups);
    }
}
