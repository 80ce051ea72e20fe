
namespace Siov.Fast.Api.Infrastructure;

/// <summary>The server's start-up line.</summary>
internal static partial class StartupLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "siov admin server: platform {Platform} on {Addresses}; {KeyMode}; state {State}")]
    public static partial void Listening(ILogger logger, string platform, string addresses, string keyMode, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "siov admin server: {Warning}")]
    public static partial void StateWarning(ILogger logger, string warning);
}
