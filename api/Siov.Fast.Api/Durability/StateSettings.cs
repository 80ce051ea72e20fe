using System.ComponentModel.DataAnnotations;

namespace Siov.Fast.Api.Durability;

/// <summary>
/// Where the server keeps its state (<see cref="Infrastructure.SiovOptions.State"/>: section <c>Siov:State</c>, and the
/// switches <c>--state-dir DIR</c> and <c>--ephemeral</c>). By default the state lives in a per-user data directory named after the platform
/// (<c>~/.local/share/siov/PLATFORM</c> on Linux); an in-memory test host without a directory is ephemeral.
/// </summary>
internal sealed class StateSettings
{
    /// <summary>The state directory (<c>--state-dir</c>); null for the default.</summary>
    public string? Directory { get; set; }

    /// <summary>Keep nothing: every start is a fresh platform (<c>--ephemeral</c>, the behaviour before durability).</summary>
    public bool Ephemeral { get; set; }

    /// <summary>The state database's size limit in bytes (SQLite <c>max_page_count</c>); beyond it mutating calls answer
    /// 507 ENOSPC. Default 4 GiB: about 25 million journalled calls.</summary>
    [Range(65536, long.MaxValue)]
    public long MaxBytes { get; set; } = 4L << 30;

    /// <summary>The default state directory of a platform: <c>LocalApplicationData/siov/NAME</c>.</summary>
    /// <exception cref="StateException">No per-user data directory is known (no HOME): give <c>--state-dir</c>.</exception>
    public static string DefaultDirectory(string platform)
    {
        string data = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        if (string.IsNullOrEmpty(data))
            throw new StateException("no per-user data directory is known (HOME is not set); give --state-dir DIR or --ephemeral");
        string name = string.Concat(platform.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
        return Path.Combine(data, "siov", name);
    }
}
