
namespace Siov.Fast.Api.Durability;

/// <summary>Endpoint metadata: whether a mutating endpoint's calls are journalled (<see cref="Journaling"/>).</summary>
internal sealed class JournalMetadata(bool journaled)
{
    public static readonly JournalMetadata Journaled = new(true);

    public static readonly JournalMetadata Exempt = new(false);

    /// <summary>True for a journalled endpoint, false for one exempt on purpose.</summary>
    public bool IsJournaled { get; } = journaled;
}
