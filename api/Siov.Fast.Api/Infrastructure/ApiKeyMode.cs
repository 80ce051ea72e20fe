using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>
/// Whether mutating calls need the API key, decided from the addresses the server actually bound (whatever
/// configured them: <c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>Kestrel:Endpoints</c> in any source). Until that is
/// known the key is required (fail closed). The key comes from <see cref="SiovOptions.ApiKey"/> (<c>--Siov:ApiKey</c>,
/// <c>SIOV__ApiKey</c>) or <c>SIOV_API_KEY</c>; only its SHA-256 is kept.
/// </summary>
internal sealed class ApiKeyMode
{
    private volatile bool _required = true;

    public ApiKeyMode(IOptions<SiovOptions> options)
    {
        string? key = options.Value.ApiKey;
        KeyHash = string.IsNullOrEmpty(key) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(key));
        RequiredByConfiguration = options.Value.RequireApiKey;
    }

    /// <summary>SHA-256 of the configured key, or null.</summary>
    public byte[]? KeyHash { get; }

    /// <summary><c>Siov:RequireApiKey</c>.</summary>
    public bool RequiredByConfiguration { get; }

    /// <summary>True while mutating calls need the key.</summary>
    public bool Required => _required;

    /// <summary>"none", "required": for the start-up line.</summary>
    public string Describe() => Required ? "API key required for mutating calls" : "no API key (loopback only)";

    /// <summary>
    /// Decides from the bound addresses: a key is required when one is configured, when <c>Siov:RequireApiKey</c>
    /// says so, or when any address is beyond loopback; the last without a key is refused.
    /// </summary>
    /// <returns>null, or why the server must not run.</returns>
    public string? Decide(IReadOnlyCollection<string> boundAddresses)
    {
        string[] exposed = [.. boundAddresses.Where(a => !IsLocal(a))];
        if (exposed.Length > 0 && KeyHash == null)
            return $"listening on {string.Join(", ", exposed)} (beyond loopback) needs an API key for mutating calls: set SIOV_API_KEY or --Siov:ApiKey";
        _required = KeyHash != null || RequiredByConfiguration || exposed.Length > 0;
        return null;
    }

    /// <summary>Loopback IP addresses, <c>localhost</c> and Unix sockets are local; wildcards, other addresses and
    /// host names (which Kestrel binds on every interface) are not.</summary>
    public static bool IsLocal(string address)
    {
        if (address.Contains("unix:", StringComparison.OrdinalIgnoreCase) || address.StartsWith("pipe:", StringComparison.OrdinalIgnoreCase))
            return true;
        string normalized = address.Replace("://*", "://any", StringComparison.Ordinal).Replace("://+", "://any", StringComparison.Ordinal);
        if (!Uri.TryCreate(normalized, UriKind.Absolute, out Uri? uri))
            return false;
        string host = uri.Host.Trim('[', ']');
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out IPAddress? ip) && IPAddress.IsLoopback(ip));
    }
}
