using System.Globalization;

namespace Siov.Fast.Platforms;

/// <summary>One hop of a device scope path: device and function on the bus reached so far.</summary>
/// <param name="Device">PCI device number, 0-31.</param>
/// <param name="Function">PCI function number, 0-7.</param>
public readonly record struct PciPathStep(byte Device, byte Function)
{
    /// <summary>The "DD.F" form, e.g. <c>1c.7</c>.</summary>
    /// <returns>The step text.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Device:x2}.{Function:x}");
}
