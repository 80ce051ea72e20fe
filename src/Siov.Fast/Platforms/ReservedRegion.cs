namespace Siov.Fast.Platforms;

/// <summary>A memory range, both ends inclusive.</summary>
/// <param name="Base">First byte.</param>
/// <param name="Limit">Last byte.</param>
public readonly record struct ReservedRegion(ulong Base, ulong Limit)
{
    /// <summary><c>0xbf458000-0xbf46ffff</c>.</summary>
    /// <returns>The range text.</returns>
    public override string ToString() => Throw.Hex(Base) + "-" + Throw.Hex(Limit);
}
