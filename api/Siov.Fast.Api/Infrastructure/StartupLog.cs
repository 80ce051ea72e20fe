namespace Siov.Fast.Api.Infrastructure;

/// <summary>The server's start-up line.</summary>
internal static partial class StartupLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "siov admin server: platform {Platform} on {Addresses}; {KeyMode}")]
    public static partial void Listening(ILogger logger, string platform, string addresses, string keyMode);
}
