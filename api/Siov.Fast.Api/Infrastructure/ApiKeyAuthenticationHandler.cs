using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>
/// The <c>ApiKey</c> authentication scheme: the key in <c>X-Api-Key</c> or <c>Authorization: Bearer</c>, compared as
/// SHA-256 digests in constant time and never logged. Where no key is required (loopback, none configured) every
/// caller is authenticated. A refused call answers 401 with a problem body (EPERM).
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyMode mode)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    public const string HeaderName = "X-Api-Key";

    /// <summary>The authorization policy on every mutating endpoint.</summary>
    public const string MutatingPolicy = "siov-mutating";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!mode.Required)
            return Task.FromResult(Success("loopback"));
        string? presented = Request.Headers[HeaderName].FirstOrDefault();
        string? authorization = Request.Headers.Authorization.FirstOrDefault();
        if (presented == null && authorization?.StartsWith("Bearer ", StringComparison.Ordinal) == true)
            presented = authorization["Bearer ".Length..];
        if (presented == null)
            return Task.FromResult(AuthenticateResult.NoResult());
        if (mode.KeyHash != null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), mode.KeyHash))
            return Task.FromResult(Success("api-key"));
        return Task.FromResult(AuthenticateResult.Fail("the API key is wrong"));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = $"{SchemeName} header=\"{HeaderName}\", Bearer";
        return Problems.WriteAsync(Context, "EPERM", StatusCodes.Status401Unauthorized,
            $"EPERM: mutating calls on this server need the API key in {HeaderName} (or Authorization: Bearer)");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Problems.WriteAsync(Context, "EPERM", StatusCodes.Status403Forbidden, "EPERM: this call is not allowed with the key given");

    private static AuthenticateResult Success(string how)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, how)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}
