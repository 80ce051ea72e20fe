namespace Siov.Fast;

/// <summary>Requester id (source id) helpers: bus in bits 15:8, device in 7:3, function in 2:0.</summary>
public static class RequesterIds
{
    /// <summary>Builds a requester id.</summary>
    /// <param name="bus">Bus number, 0-255.</param>
    /// <param name="device">Device number, 0-31.</param>
    /// <param name="function">Function number, 0-7.</param>
    /// <returns>The 16-bit requester id.</returns>
    /// <exception cref="IommuException">EINVAL naming the field out of range.</exception>
    public static ushort From(int bus, int device, int function)
    {
        if (bus is < 0 or > 255)
            Throw.Iommu(Errno.EINVAL, $"bus {bus} is outside 0-255");
        if (device is < 0 or > 31)
            Throw.Iommu(Errno.EINVAL, $"device {device} is outside 0-31");
        if (function is < 0 or > 7)
            Throw.Iommu(Errno.EINVAL, $"function {function} is outside 0-7");
        return (ushort)(bus << 8 | device << 3 | function);
    }

    /// <summary>Formats a requester id the way Linux prints it in DMAR faults: <c>bb:dd.f</c> in hex.</summary>
    /// <param name="requesterId">The requester id.</param>
    /// <returns>For example <c>00:02.0</c>.</returns>
    public static string Format(ushort requesterId) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{requesterId >> 8:x2}:{(requesterId >> 3) & 0x1F:x2}.{requesterId & 7:x}");
}
