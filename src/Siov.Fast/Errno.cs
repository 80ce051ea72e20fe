namespace Siov.Fast;

/// <summary>
/// Linux errno names used as stable error codes by every Siov.Fast operation. The numeric
/// values are the Linux ones (include/uapi/asm-generic/errno-base.h), so an error can be
/// compared with what the kernel's IOMMU and VFIO code would return.
/// </summary>
public enum Errno
{
    /// <summary>Operation not permitted (1): a vendor rule or a policy forbids the call.</summary>
    EPERM = 1,

    /// <summary>No such entry (2): the named object (domain, group, PASID attachment) does not exist.</summary>
    ENOENT = 2,

    /// <summary>Argument list too long (7): a request asks for more than a call handles at once.</summary>
    E2BIG = 7,

    /// <summary>Out of memory (12): the simulated physical memory has no free 4 KiB frame left.</summary>
    ENOMEM = 12,

    /// <summary>Device or resource busy (16): the object is in use (attached, mapped, PASID taken).</summary>
    EBUSY = 16,

    /// <summary>Already exists (17): a mapping or object already occupies what the call asked for.</summary>
    EEXIST = 17,

    /// <summary>No such device (19): the device, unit or feature is absent.</summary>
    ENODEV = 19,

    /// <summary>Invalid argument (22): a malformed, unaligned, zero-sized or out-of-range input.</summary>
    EINVAL = 22,

    /// <summary>No space left (28): an allocator (PASID, domain id) is exhausted.</summary>
    ENOSPC = 28,

    /// <summary>Result out of range (34): an IOVA lies beyond the address width of the table or unit.</summary>
    ERANGE = 34,

    /// <summary>Operation not supported (95): the unit or domain lacks the capability (dirty tracking without SLADS).</summary>
    EOPNOTSUPP = 95,
}
