using Siov.Fast.Platforms;

namespace Siov.Fast.Api.Infrastructure;

/// <summary>Builds the platform the server starts on from its options.</summary>
internal static class PlatformLoader
{
    /// <summary>With no platform option, the embedded default platform (<see cref="ModelledPlatform.CreateDefault"/>).</summary>
    public static ModelledPlatform Load(IConfiguration config)
    {
        string name = config["Siov:Platform"] ?? "default";
        if (name is not ("default" or "siov-demo"))
            throw new InvalidOperationException($"Siov:Platform '{name}' is unknown; use 'default'");
        return ModelledPlatform.CreateDefault();
    }
}
