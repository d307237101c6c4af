namespace Idempotency.AspNetCore.Mirroring;

/// <summary>How a canary recognised a request as a mirrored copy.</summary>
public enum MirrorCopySignal
{
    /// <summary>The request carried the marker header (with the configured secret, when one is set).</summary>
    MarkerHeader,

    /// <summary>The request's host carried Envoy's <c>-shadow</c> suffix for a configured (or any) base host.</summary>
    ShadowHost,
}
