using Siov.Fast.Iommu;
using Siov.Fast.PageTables;

namespace Siov.Fast.Drivers.ArmSmmuV3;

/// <summary>
/// The arm-smmu-v3 driver's aux-domain rules (seed 004) over a unit's table programming: a domain is either aux or
/// normal and that mode is sticky for its life, and an aux domain hangs on one parent domain, so two devices share it
/// only when they have the same primary domain. Until the SMMUv3 hardware model exists (stream table, context
/// descriptors), the tables are programmed by the driver given here (a VT-d unit's); the rules are SMMUv3's.
/// </summary>
/// <param name="tables">The driver that programs the unit's tables and flushes its IOTLB.</param>
public sealed class SmmuV3AuxDomainRules(IIommuDriver tables) : IIommuDriver
{
    /// <summary>The driver that programs the tables.</summary>
    public IIommuDriver Tables { get; } = tables ?? throw new ArgumentNullException(nameof(tables));

    /// <inheritdoc/>
    public string Name => "arm-smmu-v3";

    /// <summary>True: the first attach mode of a domain sticks.</summary>
    public bool StickyAttachModes => true;

    /// <inheritdoc/>
    public Hardware.Vtd.FaultLog Faults => Tables.Faults;

    /// <inheritdoc/>
    public string UnitName => Tables.UnitName;

    /// <inheritdoc/>
    public int PasidWidth => Tables.PasidWidth;

    /// <inheritdoc/>
    public bool SupportsIdentityDomain => Tables.SupportsIdentityDomain;

    /// <inheritdoc/>
    public PageSizes PageSizes => Tables.PageSizes;

    /// <inheritdoc/>
    public int HostAddressWidth => Tables.HostAddressWidth;

    /// <inheritdoc/>
    public int NumberOfDomains => Tables.NumberOfDomains;

    /// <inheritdoc/>
    public bool SupportsLevels(int levels) => Tables.SupportsLevels(levels);

    /// <inheritdoc/>
    public void SetDirtyTracking(ushort domainId, bool enabled) => Tables.SetDirtyTracking(domainId, enabled);

    /// <inheritdoc/>
    public void AttachDevice(ushort requesterId, ushort domainId, SecondLevelPageTable? table) => Tables.AttachDevice(requesterId, domainId, table);

    /// <inheritdoc/>
    public void DetachDevice(ushort requesterId) => Tables.DetachDevice(requesterId);

    /// <inheritdoc/>
    public bool EnableDeviceAts(ushort requesterId, bool pageRequests) => Tables.EnableDeviceAts(requesterId, pageRequests);

    /// <inheritdoc/>
    public void DisableDeviceAts(ushort requesterId) => Tables.DisableDeviceAts(requesterId);

    /// <inheritdoc/>
    public event EventHandler<Ats.PageRequest>? PageRequestReported
    {
        add => Tables.PageRequestReported += value;
        remove => Tables.PageRequestReported -= value;
    }

    /// <inheritdoc/>
    public void PageResponse(in Ats.PageGroupResponse response) => Tables.PageResponse(response);

    /// <inheritdoc/>
    public void SetDevicePasid(ushort requesterId, uint pasid, ushort domainId, SecondLevelPageTable? table) =>
        Tables.SetDevicePasid(requesterId, pasid, domainId, table);

    /// <inheritdoc/>
    public void SetDevicePasidStage1(ushort requesterId, uint? pasid, ushort domainId, Stage1Table stage1, SecondLevelPageTable? secondStage) =>
        Tables.SetDevicePasidStage1(requesterId, pasid, domainId, stage1, secondStage);

    /// <inheritdoc/>
    public void RemoveDevicePasid(ushort requesterId, uint pasid) => Tables.RemoveDevicePasid(requesterId, pasid);

    /// <inheritdoc/>
    public void FlushIotlbRange(ushort domainId, uint? pasid, ulong iova, ulong size) => Tables.FlushIotlbRange(domainId, pasid, iova, size);

    /// <summary>EPERM when the domain has been an aux domain: it stays one.</summary>
    /// <param name="domain">The domain.</param>
    /// <param name="device">The device.</param>
    /// <exception cref="IommuException">EPERM as described.</exception>
    public void CheckNormalAttach(IommuDomain domain, PciDevice device)
    {
        ArgumentNullException.ThrowIfNull(domain);
        if ((domain.Mode & DomainAttachMode.Aux) != 0)
            throw new IommuException(Errno.EPERM, $"SMMUv3 rule: {domain} is an aux domain and stays one (the mode is sticky); it cannot be attached normally to {device}");
    }

    /// <summary>The device's primary domain becomes the aux domain's parent; EPERM when the domain has been normal or
    /// has another parent; EINVAL when the device has no primary domain.</summary>
    /// <param name="domain">The aux domain.</param>
    /// <param name="device">The parent device.</param>
    /// <returns>The parent domain.</returns>
    /// <exception cref="IommuException">EPERM or EINVAL as described.</exception>
    public IommuDomain? CheckAuxAttach(IommuDomain domain, PciDevice device)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(device);
        if ((domain.Mode & DomainAttachMode.Normal) != 0)
            throw new IommuException(Errno.EPERM, $"SMMUv3 rule: {domain} has been attached normally and stays a normal domain (the mode is sticky)");
        IommuDomain parent = device.Group?.Domain
            ?? throw new IommuException(Errno.EINVAL, $"SMMUv3 rule: {device} has no primary domain to hang the aux domain on");
        if (domain.AuxParent != null && domain.AuxParent != parent)
            throw new IommuException(Errno.EPERM, $"SMMUv3 rule: {domain} already has parent {domain.AuxParent}; {device} is attached to {parent}");
        return parent;
    }
}
