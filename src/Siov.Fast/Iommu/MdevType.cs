namespace Siov.Fast.Iommu;

/// <summary>A registered mdev type of one parent device, with its live <c>available_instances</c>.</summary>
public sealed class MdevType
{
    internal MdevType(PciDevice parent, MdevTypeSpec spec)
    {
        Parent = parent;
        Spec = spec;
        AvailableInstances = spec.MaxInstances;
    }

    /// <summary>The parent device.</summary>
    public PciDevice Parent { get; }

    /// <summary>What the parent registered.</summary>
    public MdevTypeSpec Spec { get; }

    /// <summary>The type id (sysfs directory name).</summary>
    public string Id => Spec.Id;

    /// <summary>The <c>available_instances</c> file: <see cref="MdevTypeSpec.MaxInstances"/> less the mdevs that exist.</summary>
    public int AvailableInstances { get; internal set; }
}
