namespace Siov.Fast.Iommufd;

/// <summary>
/// An object of an <see cref="IommufdContext"/> (the kernel's <c>struct iommufd_object</c>): an id, its kind, and how
/// many other objects use it; <see cref="IommufdContext.Destroy"/> refuses one in use with EBUSY.
/// </summary>
public abstract class IommufdObject
{
    private protected IommufdObject(IommufdContext context, uint id)
    {
        Context = context;
        Id = id;
    }

    /// <summary>The context that holds the object.</summary>
    public IommufdContext Context { get; }

    /// <summary>The object's id in its context (from 1; ids are not reused while the context lives).</summary>
    public uint Id { get; }

    /// <summary>The object's kind, as <c>enum iommufd_object_type</c> names it.</summary>
    public abstract IommufdObjectType Type { get; }

    /// <summary>Objects and attachments that use this one (a device attached to a HWPT, a HWPT over an IOAS).</summary>
    public int Users { get; internal set; }

    /// <summary>Called by <see cref="IommufdContext.Destroy"/> under the context's lock once the object is unused.</summary>
    internal abstract void Release();

    /// <inheritdoc/>
    public override string ToString() => $"{Type} {Id}";
}
