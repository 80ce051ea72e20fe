namespace Siov.Fast.Concurrency;

/// <summary>A read-side critical section of an <see cref="EpochReclaimer"/>; dispose it to leave.</summary>
public readonly ref struct EpochScope
{
    private readonly EpochReclaimer? _owner;
    private readonly int _slot;

    internal EpochScope(EpochReclaimer owner, int slot)
    {
        _owner = owner;
        _slot = slot;
    }

    /// <summary>Leaves the critical section (a release store into the slot).</summary>
    public void Dispose() => _owner?.Exit(_slot);
}
