namespace Siov.Fast.Platforms;

/// <summary>ACS capability bits (PCIe Base spec 7.7.8.2, ACS Capability Register), in register bit order.</summary>
[Flags]
public enum AcsCapabilities
{
    /// <summary>No ACS capability.</summary>
    None = 0,

    /// <summary>ACS Source Validation (bit 0).</summary>
    SourceValidation = 1 << 0,

    /// <summary>ACS Translation Blocking (bit 1).</summary>
    TranslationBlocking = 1 << 1,

    /// <summary>ACS P2P Request Redirect (bit 2).</summary>
    RequestRedirect = 1 << 2,

    /// <summary>ACS P2P Completion Redirect (bit 3).</summary>
    CompletionRedirect = 1 << 3,

    /// <summary>ACS Upstream Forwarding (bit 4).</summary>
    UpstreamForwarding = 1 << 4,

    /// <summary>ACS P2P Egress Control (bit 5).</summary>
    EgressControl = 1 << 5,

    /// <summary>ACS Direct Translated P2P (bit 6).</summary>
    DirectTranslatedP2P = 1 << 6,
}
