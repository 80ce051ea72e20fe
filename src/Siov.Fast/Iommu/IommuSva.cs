namespace Siov.Fast.Iommu;

/// <summary>
/// A bond between a device and a process address space (<c>struct iommu_sva</c>, from <see cref="IommuCore.SvaBindDevice"/>):
/// the device's DMA with <see cref="Pasid"/> translates through the process's own page table. Binding the same process
/// to the same device again returns this bond with one more user; <see cref="IommuCore.SvaUnbindDevice"/> drops one.
/// </summary>
public sealed class IommuSva
{
    internal IommuSva(PciDevice device, IommuDomain domain, uint pasid)
    {
        Device = device;
        Domain = domain;
        Pasid = pasid;
    }

    /// <summary>The bound device.</summary>
    public PciDevice Device { get; }

    /// <summary>The process's SVA domain (shared by every device bound to the process).</summary>
    public IommuDomain Domain { get; }

    /// <summary>The process's PASID (<c>iommu_sva_get_pasid</c>; one per process, on every device).</summary>
    public uint Pasid { get; }

    /// <summary>Binds counted on this bond.</summary>
    public int Users { get; internal set; } = 1;
}
