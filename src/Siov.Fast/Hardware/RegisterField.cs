using System.Runtime.CompilerServices;

namespace Siov.Fast.Hardware;

/// <summary>
/// One field of a register or of an in-memory descriptor: its lowest bit and its width, defined once and
/// used to decode, encode and document it.
/// </summary>
/// <param name="Shift">Lowest bit of the field.</param>
/// <param name="Width">Bits in the field, 1 to 64.</param>
public readonly record struct RegisterField(int Shift, int Width)
{
    /// <summary>The field's bits in place (e.g. 0x6000_0000_0000_0000 for bits 62:61).</summary>
    public ulong Mask => (Width == 64 ? ulong.MaxValue : (1UL << Width) - 1) << Shift;

    /// <summary>The field's value in <paramref name="register"/>.</summary>
    /// <param name="register">A register or descriptor word.</param>
    /// <returns>The field, shifted down.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Get(ulong register) => (register & Mask) >> Shift;

    /// <summary>True when the field is non-zero (for one-bit flags).</summary>
    /// <param name="register">A register or descriptor word.</param>
    /// <returns>Whether any of its bits is set.</returns>
    public bool IsSet(ulong register) => (register & Mask) != 0;

    /// <summary><paramref name="register"/> with the field replaced by <paramref name="value"/> (truncated to the width).</summary>
    /// <param name="register">A register or descriptor word.</param>
    /// <param name="value">The field's new value.</param>
    /// <returns>The new word.</returns>
    public ulong With(ulong register, ulong value) => (register & ~Mask) | ((value << Shift) & Mask);

    /// <summary>The field's value in place, alone (for building a word with |).</summary>
    /// <param name="value">The value.</param>
    /// <returns>The value shifted into place and truncated to the width.</returns>
    public ulong Encode(ulong value) => (value << Shift) & Mask;

    /// <inheritdoc/>
    public override string ToString() => Width == 1 ? $"bit {Shift}" : $"bits {Shift + Width - 1}:{Shift}";
}
