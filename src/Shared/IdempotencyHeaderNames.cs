namespace Idempotency;

/// <summary>
/// Header names on the wire, compiled into every package that writes or describes them (Idempotency.Core and
/// Idempotency.AspNetCore.OpenApi), so a document never names a header the middleware does not send.
/// </summary>
internal static class IdempotencyHeaderNames
{
    /// <summary>Set to <c>true</c> on a replayed response.</summary>
    public const string Replayed = "Idempotent-Replayed";
}
