using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Siov.Fast;

/// <summary>
/// A PCI function's address, segment:bus:device.function, as sysfs names it
/// (<c>0000:00:1f.2</c>). The low 16 bits (bus, device, function) are the requester id
/// (source id) that a remapping unit sees on a DMA.
/// </summary>
/// <remarks>Ranges: segment 0-65535, bus 0-255, device 0-31, function 0-7 (PCI Express Base spec, 2.2.6.2).</remarks>
public readonly record struct PciAddress : IComparable<PciAddress>
{
    /// <summary>Creates an address.</summary>
    /// <param name="segment">PCI segment (domain) number, 0-65535.</param>
    /// <param name="bus">Bus number, 0-255.</param>
    /// <param name="device">Device number, 0-31.</param>
    /// <param name="function">Function number, 0-7.</param>
    /// <exception cref="IommuException">EINVAL naming the field out of range.</exception>
    public PciAddress(int segment, int bus, int device, int function)
    {
        if (segment is < 0 or > 0xFFFF)
            Throw.Iommu(Errno.EINVAL, $"PCI segment {segment} is outside 0-65535");
        Segment = (ushort)segment;
        RequesterId = RequesterIds.From(bus, device, function);
    }

    /// <summary>Creates an address from a segment and a requester id.</summary>
    /// <param name="segment">PCI segment.</param>
    /// <param name="requesterId">bus &lt;&lt; 8 | device &lt;&lt; 3 | function.</param>
    public PciAddress(ushort segment, ushort requesterId)
    {
        Segment = segment;
        RequesterId = requesterId;
    }

    /// <summary>PCI segment (the "domain" of sysfs names).</summary>
    public ushort Segment { get; }

    /// <summary>Requester id: bus in bits 15:8, device in 7:3, function in 2:0.</summary>
    public ushort RequesterId { get; }

    /// <summary>Bus number.</summary>
    public int Bus => RequesterId >> 8;

    /// <summary>Device number.</summary>
    public int Device => (RequesterId >> 3) & 0x1F;

    /// <summary>Function number.</summary>
    public int Function => RequesterId & 7;

    /// <summary>Device and function as one byte (devfn), as the kernel keeps them.</summary>
    public int DevFn => RequesterId & 0xFF;

    /// <summary>Parses <c>SSSS:BB:DD.F</c> or <c>BB:DD.F</c> (segment 0), hex, case-insensitive.</summary>
    /// <param name="text">The address text.</param>
    /// <returns>The address.</returns>
    /// <exception cref="IommuException">EINVAL naming the text when it is not such an address.</exception>
    public static PciAddress Parse(string text)
    {
        if (!TryParse(text, out PciAddress address))
            Throw.Iommu(Errno.EINVAL, $"'{text}' is not a PCI address (expected SSSS:BB:DD.F or BB:DD.F in hex)");
        return address;
    }

    /// <summary>Parses like <see cref="Parse"/> without throwing.</summary>
    /// <param name="text">The address text (may be null).</param>
    /// <param name="address">The address when the text is valid.</param>
    /// <returns>Whether the text is a valid address.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, out PciAddress address)
    {
        address = default;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        string[] parts = text.Trim().Split(':');
        if (parts.Length is < 2 or > 3)
            return false;
        int segment = 0;
        if (parts.Length == 3 && !TryHex(parts[0], 4, out segment))
            return false;
        string busText = parts[^2];
        string[] devFn = parts[^1].Split('.');
        if (devFn.Length != 2
            || !TryHex(busText, 2, out int bus)
            || !TryHex(devFn[0], 2, out int device) || device > 31
            || !TryHex(devFn[1], 1, out int function) || function > 7)
            return false;
        address = new PciAddress((ushort)segment, (ushort)(bus << 8 | device << 3 | function));
        return true;
    }

    private static bool TryHex(string text, int maxDigits, out int value)
    {
        value = 0;
        return text.Length is > 0 && text.Length <= maxDigits
            && int.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>The sysfs form, <c>0000:00:1f.2</c>.</summary>
    /// <returns>The address text.</returns>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Segment:x4}:{Bus:x2}:{Device:x2}.{Function:x}");

    /// <summary>The short form without segment, <c>00:1f.2</c>, as lspci and DMAR fault lines print it.</summary>
    /// <returns>The address text.</returns>
    public string ToShortString() => RequesterIds.Format(RequesterId);

    /// <summary>Orders by segment, then requester id (bus, device, function).</summary>
    /// <param name="other">The other address.</param>
    /// <returns>Negative, zero or positive.</returns>
    public int CompareTo(PciAddress other) =>
        Segment != other.Segment ? Segment.CompareTo(other.Segment) : RequesterId.CompareTo(other.RequesterId);

    /// <summary>Less than, by <see cref="CompareTo"/>.</summary>
    /// <param name="left">One address.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether left sorts first.</returns>
    public static bool operator <(PciAddress left, PciAddress right) => left.CompareTo(right) < 0;

    /// <summary>Greater than, by <see cref="CompareTo"/>.</summary>
    /// <param name="left">One address.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether left sorts last.</returns>
    public static bool operator >(PciAddress left, PciAddress right) => left.CompareTo(right) > 0;

    /// <summary>Less than or equal, by <see cref="CompareTo"/>.</summary>
    /// <param name="left">One address.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether left does not sort last.</returns>
    public static bool operator <=(PciAddress left, PciAddress right) => left.CompareTo(right) <= 0;

    /// <summary>Greater than or equal, by <see cref="CompareTo"/>.</summary>
    /// <param name="left">One address.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether left does not sort first.</returns>
    public static bool operator >=(PciAddress left, PciAddress right) => left.CompareTo(right) >= 0;
}
