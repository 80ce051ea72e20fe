namespace Siov.Fast.Hardware.Vtd;

/// <summary>Bit-field helpers for register images, over fields defined once as <see cref="RegisterField"/>.</summary>
internal static class Bits
{
    /// <summary>The field's value in <paramref name="value"/>, as an int (for fields of at most 31 bits).</summary>
    public static int Int(ulong value, RegisterField field) => (int)field.Get(value);

    /// <summary>A one-bit field set or clear, in place.</summary>
    public static ulong Put(bool flag, RegisterField field) => field.Encode(flag ? 1UL : 0UL);

    /// <summary><paramref name="value"/> in place; EINVAL naming <paramref name="name"/> when it is negative or
    /// does not fit in the field's width.</summary>
    public static ulong Put(string name, long value, RegisterField field)
    {
        if (value < 0 || (ulong)value > field.Mask >> field.Shift)
            Throw.Iommu(Errno.EINVAL, $"{name} value {value} does not fit in {field.Width} bits");
        return field.Encode((ulong)value);
    }
}
