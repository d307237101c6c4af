namespace Idempotency.AspNetCore.Mirroring;

/// <summary>Whether this instance serves real traffic or receives mirrored copies of it.</summary>
public enum MirrorRole
{
    /// <summary>
    /// Serves real traffic. The copy marker is never trusted here: a client cannot switch off real effects or get
    /// fake answers by sending it.
    /// </summary>
    Primary,

    /// <summary>Receives mirrored copies (shadow traffic) from a proxy, and guards against their effects.</summary>
    Canary,
}
