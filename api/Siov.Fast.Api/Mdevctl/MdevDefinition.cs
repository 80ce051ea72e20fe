
namespace Siov.Fast.Api.Mdevctl;

/// <summary>
/// A defined mediated device, as mdevctl keeps one in <c>/etc/mdevctl.d/PARENT/UUID</c>: its parent (a PCI address,
/// or any parent name mdevctl accepts), its type, whether it starts with the server (<c>auto</c>) or on request
/// (<c>manual</c>), and its attributes in order (name and value; a name may repeat, as mdevctl allows).
/// </summary>
internal sealed record MdevDefinition(Guid Uuid, string Parent, string MdevType, string Start, IReadOnlyList<KeyValuePair<string, string>> Attrs)
{
    /// <summary>Starts at server start.</summary>
    public const string Auto = "auto";

    /// <summary>Starts when asked.</summary>
    public const string Manual = "manual";
}
