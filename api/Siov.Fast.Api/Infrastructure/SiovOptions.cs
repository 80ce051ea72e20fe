using Siov.Fast.Api.Durability;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>
/// Every setting of the admin server, bound from the <c>Siov</c> configuration section: appsettings.json, environment
/// variables (<c>SIOV__Limits__MaxDomains=128</c>), the command line (<c>--Siov:Limits:MaxDomains=128</c>) and the
/// short command-line forms in <see cref="Aliases"/> (<c>--dmar FILE</c>, <c>--state-dir DIR</c>, <c>--ephemeral</c>).
/// Validated at start (<see cref="SiovOptionsValidator"/>): a bad value stops the server with exit code 2.
/// </summary>
internal sealed class SiovOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Siov";

    /// <summary>The environment variable that also gives the API key (when <see cref="ApiKey"/> is not set).</summary>
    public const string ApiKeyVariable = "SIOV_API_KEY";

    /// <summary>Short keys (command-line switches, or bare keys in any source) and the settings they stand for.</summary>
    public static readonly IReadOnlyDictionary<string, string> Aliases = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["platform"] = "Platform",
        ["dmar"] = "Dmar",
        ["ivrs"] = "Ivrs",
        ["iort"] = "Iort",
        ["lspci"] = "Lspci",
        ["dmesg"] = "Dmesg",
        ["state-dir"] = "State:Directory",
        ["ephemeral"] = "State:Ephemeral",
    };

    /// <summary>The API key mutating calls need where one is required (<c>X-Api-Key</c> or <c>Authorization: Bearer</c>);
    /// also read from <c>SIOV_API_KEY</c>. Only its SHA-256 is kept.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Require the key for mutating calls even on loopback.</summary>
    public bool RequireApiKey { get; set; }

    /// <summary>Switch every unit's invalidation sanitizer on at start.</summary>
    public bool Sanitize { get; set; }

    /// <summary>An embedded platform by name (<c>--platform NAME</c>): <c>siov-demo</c> (the default: two VT-d units) or
    /// <c>arm-demo</c> (one Arm SMMUv3); not together with a table.</summary>
    public string? Platform { get; set; }

    /// <summary>A DMAR table (acpidump binary) to model (<c>--dmar FILE</c>); with none (and no IVRS) the embedded default platform.</summary>
    public string? Dmar { get; set; }

    /// <summary>An IVRS table to model (<c>--ivrs FILE</c>).</summary>
    public string? Ivrs { get; set; }

    /// <summary>An Arm IORT table to model (<c>--iort FILE</c>): its SMMUv3s, with the functions of <c>--lspci</c> behind them
    /// at the StreamIDs its root complexes map their requester ids to.</summary>
    public string? Iort { get; set; }

    /// <summary><c>lspci -vvv</c> output describing the platform's functions (<c>--lspci FILE</c>); needs a table.</summary>
    public string? Lspci { get; set; }

    /// <summary>A boot <c>dmesg</c> of the platform (<c>--dmesg FILE</c>); needs a table.</summary>
    public string? Dmesg { get; set; }

    /// <summary>The limits (<c>Siov:Limits</c>).</summary>
    public ServerLimits Limits { get; set; } = new();

    /// <summary>Where the state is kept (<c>Siov:State</c>).</summary>
    public StateSettings State { get; set; } = new();

    /// <summary>Binds the section, then the short keys of <see cref="Aliases"/> over it, then <c>SIOV_API_KEY</c> when no
    /// key was given.</summary>
    /// <param name="configuration">The application's configuration.</param>
    /// <param name="options">The options to fill.</param>
    /// <exception cref="InvalidOperationException">A value does not convert (the message names the key).</exception>
    public static void Bind(IConfiguration configuration, SiovOptions options)
    {
        configuration.GetSection(Section).Bind(options);
        var overlay = Aliases.Select(a => (Key: Section + ":" + a.Value, Value: configuration[a.Key]))
            .Where(a => a.Value != null).ToDictionary(a => a.Key, a => a.Value);
        if (overlay.Count > 0)
            new ConfigurationBuilder().AddInMemoryCollection(overlay).Build().GetSection(Section).Bind(options);
        if (string.IsNullOrEmpty(options.ApiKey))
            options.ApiKey = configuration[ApiKeyVariable];
    }
}
