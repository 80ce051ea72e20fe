
namespace Siov.Fast.Api.Durability;

/// <summary>The state directory cannot be used (start-up: exit 2), or a journal write failed (a call: 507 with
/// <see cref="Code"/>).</summary>
internal sealed class StateException(string code, string message) : Exception(message)
{
    public StateException(string message) : this("EIO", message)
    {
    }

    /// <summary>The errno name: ENOSPC or EIO.</summary>
    public string Code { get; } = code;
}
