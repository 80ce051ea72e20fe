namespace Siov.Fast.Ats;

/// <summary>
/// A page request a function sends when its translation request came back without the access it needs (PCIe PRI
/// "Page Request Message"): the page, the access wanted, and the page request group it belongs to; the last request of
/// a group (LPIG) asks for the group's response.
/// </summary>
/// <param name="RequesterId">The function.</param>
/// <param name="Pasid">The PASID, or null.</param>
/// <param name="Address">The page's untranslated address (bits 63:12; lower bits are ignored).</param>
/// <param name="Read">Read access wanted.</param>
/// <param name="Write">Write access wanted.</param>
/// <param name="Execute">Execute wanted (needs a PASID).</param>
/// <param name="Privileged">Privileged mode (needs a PASID).</param>
/// <param name="GroupIndex">PRG index, 0-511.</param>
/// <param name="LastInGroup">LPIG: the last request of its group; the host answers the group after it.</param>
public readonly record struct PageRequest(ushort RequesterId, uint? Pasid, ulong Address, bool Read, bool Write, bool Execute,
    bool Privileged, int GroupIndex, bool LastInGroup)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"page request {RequesterIds.Format(RequesterId)} {(Pasid is uint p ? "PASID " + Throw.Hex(p) : "no PASID")} {Throw.Hex(Address & ~0xFFFUL)} "
        + $"{(Read ? "R" : "")}{(Write ? "W" : "")}{(Execute ? "X" : "")}{(Privileged ? " priv" : "")} PRG {GroupIndex}{(LastInGroup ? " last" : "")}";
}
